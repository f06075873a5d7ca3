" Vim syntax file
" Language:    rootwrap filter language (.rwf)
" Reference:   book/src/language.md; grammar/rwf.pest is normative.
" The word lists below are checked against the grammar and the compiler by
" tests/tests/editors.rs: add a keyword, option, type or step there and here.

if exists("b:current_syntax")
  finish
endif

" Names carry `-` and `.` (exec-dirs, path-entry, ip-args...).
syn iskeyword @,48-57,_,-,.

" `#` starts a comment where a token may start.
syn match   rwfComment      "\%(^\|\s\)\zs#.*$" contains=@Spell
syn match   rwfContinuation "\\$"

syn region  rwfString       start=+"+ skip=+\\.+ end=+"+ oneline contains=rwfEscape
syn match   rwfEscape       +\\.+ contained
" re"..." matches the whole argument; flags may follow the closing quote. A
" word glued before it is a literal prefix (`if=re"..."`).
syn region  rwfRegex        matchgroup=rwfRegexDelim start=+re"+ skip=+\\.+ end=+"\a*+ oneline

" The kw_* rules of the grammar: keywords where the grammar expects them.
syn keyword rwfKeyword      allow via as env test deny disable because action undo
syn match   rwfChain        "\<then\s\+allowed\>"
syn keyword rwfKeyword      then allowed
" `...`: any further arguments.
syn match   rwfRest         "\%(^\|\s\)\zs\.\.\.\ze\%(\s\|$\)"
syn match   rwfPin          "@sha256:\x*"

" allow NAME, action NAME, test allow NAME.
" (A look-behind, not \zs: a keyword starting at the same column would win.)
syn match   rwfRuleName     "\%(\<\%(allow\|action\)\s\+\)\@<=[A-Za-z0-9][A-Za-z0-9_.-]*"

" <type ARG | ARG ... [as USER]>
syn region  rwfTyped        matchgroup=rwfTypeDelim start=+<+ end=+>+ oneline contains=rwfTypeName,rwfTypeAs,rwfTypeBar
syn keyword rwfTypeName     contained int mode signal uuid ipv4 ipv6 ip cidr mac ifname
syn keyword rwfTypeName     contained user group owner path path-entry path-unpinned pid
syn keyword rwfTypeName     contained operand any netns ip-args...
syn keyword rwfTypeAs       contained as
syn match   rwfTypeBar      "|" contained

" Ruleset options: the first word of a line.
syn match   rwfOptionLine   "^\%(ruleset\|exec-dirs\|log\|on-log-failure\|daemon\)\>.*$" contains=rwfOption,rwfOptionWord,rwfOptionKey,rwfString,rwfComment,rwfContinuation
syn keyword rwfOption       contained ruleset exec-dirs log on-log-failure daemon
syn keyword rwfOptionWord   contained syslog json refuse continue
syn match   rwfOptionKey    "\<\%(facility\|allowed-level\|denied-level\|idle-timeout\|max-running\|max-waiting\|users\|groups\)=" contained

" An action's steps: indented lines below `action NAME (...):`.
syn match   rwfStepLine     "^\s\+\%(write\|read\|mkdir\|chmod\|chown\|symlink\|unlink\|rmdir\|rename\|kill\|sysctl\|run\)\>.*$" contains=rwfStep,rwfStepWord,rwfString,rwfComment,rwfContinuation
syn keyword rwfStep         contained write read mkdir chmod chown symlink unlink rmdir rename kill sysctl run
syn keyword rwfStepWord     contained from stdin max create replace append mode owner parents to

hi def link rwfComment      Comment
hi def link rwfContinuation Special
hi def link rwfString       String
hi def link rwfEscape       SpecialChar
hi def link rwfRegex        String
hi def link rwfRegexDelim   Special
hi def link rwfKeyword      Keyword
hi def link rwfChain        Keyword
hi def link rwfRest         Special
hi def link rwfPin          Number
hi def link rwfRuleName     Function
hi def link rwfTypeDelim    Delimiter
hi def link rwfTypeName     Type
hi def link rwfTypeAs       Keyword
hi def link rwfTypeBar      Delimiter
hi def link rwfOption       PreProc
hi def link rwfOptionWord   Constant
hi def link rwfOptionKey    Identifier
hi def link rwfStep         Statement
hi def link rwfStepWord     Keyword

let b:current_syntax = "rwf"
