// Package e2e holds the end-to-end tests: the real binaries, a real Postgres
// and a real nginx, driven through the public entry as a client would; and
// the checks of the docker compose setup that can run without Docker.
package e2e
