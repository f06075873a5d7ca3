" rootwrap filter files.
autocmd BufRead,BufNewFile *.rwf setfiletype rwf
