package ftp

// SetQuickMax changes the largest download quickRETR takes, so that a test
// can send a file its client's window cannot take at once.
func SetQuickMax(n int64) (restore func()) {
	old := quickMax
	quickMax = n
	return func() { quickMax = old }
}
