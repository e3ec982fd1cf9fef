-- Run by the grammar's Rust tests: `nvim --headless -u NONE --cmd "set rtp^=DIR" FILE -c
-- "luafile check.lua"`, with parser/quandary.so and queries/quandary/*.scm in DIR, as
-- docs/editors.md installs them. Writes what Neovim makes of FILE, one line each, to the file
-- named by $QUANDARY_NVIM_OUT: the parse, then every capture of every query (predicates
-- applied), or the error that stopped it.
local out = assert(io.open(vim.env.QUANDARY_NVIM_OUT, "w"))
local function say(...)
  out:write(table.concat({ ... }, "\t"), "\n")
end

local function check()
  local buf = vim.api.nvim_get_current_buf()
  local parser = vim.treesitter.get_parser(buf, "quandary")
  local root = parser:parse()[1]:root()
  say("has_error", tostring(root:has_error()))
  -- The names changed in Neovim 0.9; the old ones are gone in 0.11.
  local get_query = vim.treesitter.query.get or vim.treesitter.query.get_query
  local node_text = vim.treesitter.get_node_text or vim.treesitter.query.get_node_text
  for _, name in ipairs({ "highlights", "injections", "locals", "folds" }) do
    local ok, err = pcall(function()
      local query = get_query("quandary", name)
      assert(query, "no query")
      for id, node in query:iter_captures(root, buf, 0, -1) do
        say("capture", name, query.captures[id], node_text(node, buf))
      end
    end)
    if not ok then
      say("error", name, tostring(err))
    end
  end
end

local ok, err = pcall(check)
if not ok then
  say("error", "parser", tostring(err))
end
out:close()
vim.cmd("qa!")
