module github.com/ferryftp/ferry

go 1.26
