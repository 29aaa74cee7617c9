// Package storetest is the behaviour suite every store backend passes: the
// embedded one and Redis (single server and cluster) run the same [Run].
// It uses real backends only; a backend's test supplies a [Factory].
package storetest
