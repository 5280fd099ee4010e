// Package instances is the proof that several kgate processes behind one
// load balancer serve one site: its test builds kgate, starts three
// instances sharing a real redis-server and Caddy's reverse_proxy in front
// of them (each a process of its own), logs a member in through the front
// and checks what instances share — sessions, file tokens, portal forms,
// comment authors, back-channel logouts — while an instance is killed
// under load and while Redis is down. The package has no code besides its
// test.
package instances
