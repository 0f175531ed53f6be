package churn

// SetKeptBytes changes how much a run may keep of the customers of the
// days it applied, and returns the way back.
func SetKeptBytes(n int) (restore func()) {
	old := keptBytes
	keptBytes = n
	return func() { keptBytes = old }
}
