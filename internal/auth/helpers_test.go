package auth

import "net/http"

func httpHandlerFunc(f func()) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { f() })
}
