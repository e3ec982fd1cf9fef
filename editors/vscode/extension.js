// Starts `quandary lsp` for .qd files: diagnostics, quick fixes, navigation, hover,
// completion, outline, formatting, rename and semantic tokens come from the server.
const vscode = require("vscode");
const { LanguageClient } = require("vscode-languageclient/node");

let client;

function activate(context) {
  const command = vscode.workspace.getConfiguration("quandary").get("path") || "quandary";
  const server = { command, args: ["lsp"] };
  client = new LanguageClient(
    "quandary",
    "Quandary",
    { run: server, debug: server },
    {
      documentSelector: [{ scheme: "file", language: "quandary" }, { scheme: "untitled", language: "quandary" }],
      synchronize: { fileEvents: vscode.workspace.createFileSystemWatcher("**/*.qd") },
    }
  );
  context.subscriptions.push(client);
  return client.start();
}

function deactivate() {
  return client ? client.stop() : undefined;
}

module.exports = { activate, deactivate };
