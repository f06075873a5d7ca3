// highlight.js definition of the rootwrap filter language, for ```rwf
// blocks in the book (loaded through `additional-js` in book.toml).
// The word lists are checked against grammar/rwf.pest and the compiler by
// tests/tests/editors.rs.
(function () {
  'use strict';

  // The grammar's kw_* rules.
  var KEYWORDS = ['allow', 'via', 'as', 'env', 'test', 'deny', 'disable', 'because', 'then', 'allowed', 'action', 'undo'];
  // Ruleset options, and the words their values use.
  var OPTIONS = ['ruleset', 'exec-dirs', 'log', 'on-log-failure', 'daemon'];
  var OPTION_WORDS = ['syslog', 'json', 'refuse', 'continue'];
  var OPTION_KEYS = ['facility', 'allowed-level', 'denied-level', 'idle-timeout', 'max-running', 'max-waiting', 'users', 'groups'];
  // The argument types of `<TYPE ...>`.
  var TYPES = ['int', 'mode', 'signal', 'uuid', 'ipv4', 'ipv6', 'ip', 'cidr', 'mac', 'ifname', 'user', 'group',
    'owner', 'path', 'path-entry', 'path-unpinned', 'pid', 'operand', 'any', 'netns', 'ip-args...'];
  // An action's steps, and the words they take.
  var STEPS = ['write', 'read', 'mkdir', 'chmod', 'chown', 'symlink', 'unlink', 'rmdir', 'rename', 'kill', 'sysctl', 'run'];
  var STEP_WORDS = ['from', 'stdin', 'max', 'create', 'replace', 'append', 'mode', 'owner', 'parents', 'to'];

  // Names carry `-` and `.`, so \b is not a word's end here.
  var START = '(?<![\\w.-])';
  var END = '(?![\\w.-])';
  function oneOf(words) {
    return '(?:' + words.map(function (w) { return w.replace(/\./g, '\\.'); }).join('|') + ')';
  }

  function rwf(hljs) {
    var COMMENT = hljs.COMMENT(/(?:^|(?<=\s))#/, /$/);
    var ESCAPE = hljs.BACKSLASH_ESCAPE;
    var STRING = { className: 'string', begin: /"/, end: /"|$/, contains: [ESCAPE] };
    var REGEX = {
      className: 'regexp',
      begin: /re"/,
      end: /"[A-Za-z]*|$/,
      contains: [ESCAPE]
    };
    var TYPED = {
      begin: /</,
      end: />/,
      contains: [
        { className: 'type', begin: new RegExp('(?<=<\\s*)' + oneOf(TYPES) + '(?=[\\s>|])') },
        { className: 'keyword', begin: new RegExp(START + 'as' + END) }
      ]
    };
    var HEADER = {
      begin: new RegExp(START + '(?:allow|action)\\s+(?=[A-Za-z0-9])'),
      end: /$/,
      returnBegin: true,
      contains: [
        { className: 'keyword', begin: /allow|action/ },
        { className: 'title', begin: /[A-Za-z0-9][A-Za-z0-9_.-]*/, endsParent: true }
      ]
    };
    var OPTION_LINE = {
      begin: new RegExp('^' + oneOf(OPTIONS) + END),
      end: /$/,
      returnBegin: true,
      contains: [
        { className: 'built_in', begin: new RegExp('^' + oneOf(OPTIONS) + END) },
        { className: 'literal', begin: new RegExp(START + oneOf(OPTION_WORDS) + END) },
        { className: 'attr', begin: new RegExp(START + oneOf(OPTION_KEYS) + '(?==)') },
        STRING,
        COMMENT
      ]
    };
    var STEP_LINE = {
      begin: new RegExp('^[ \\t]+' + oneOf(STEPS) + END),
      end: /$/,
      returnBegin: true,
      contains: [
        { className: 'built_in', begin: new RegExp(START + oneOf(STEPS) + END), relevance: 0 },
        { className: 'keyword', begin: new RegExp(START + oneOf(STEP_WORDS) + END) },
        STRING,
        COMMENT
      ]
    };
    return {
      name: 'rwf',
      aliases: ['rootwrap'],
      contains: [
        COMMENT,
        OPTION_LINE,
        STEP_LINE,
        { className: 'keyword', begin: /(?<=^[ \t]+)undo(?=\s*:)/ },
        HEADER,
        REGEX,
        STRING,
        TYPED,
        { className: 'keyword', begin: new RegExp(START + 'then\\s+allowed' + END) },
        { className: 'symbol', begin: /(?:^|(?<=\s))\.\.\.(?=\s|$)/ },
        { className: 'number', begin: /@sha256:[0-9A-Fa-f]*/ },
        { className: 'keyword', begin: new RegExp(START + oneOf(KEYWORDS) + END) }
      ]
    };
  }

  if (typeof hljs === 'undefined') {
    return;
  }
  hljs.registerLanguage('rwf', rwf);
  // mdBook's book.js highlights every block before additional-js runs, so
  // the rwf blocks are highlighted again now that the language is known.
  var blocks = document.querySelectorAll('code.language-rwf');
  Array.prototype.forEach.call(blocks, function (block) {
    delete block.dataset.highlighted;
    if (hljs.highlightElement) {
      hljs.highlightElement(block);
    } else {
      hljs.highlightBlock(block);
    }
  });
})();
