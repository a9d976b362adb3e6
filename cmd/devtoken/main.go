// Command devtoken signs a token as a host site would, for trying the stack
// in AUTH_MODE=jwt: it signs with AUTH_JWT_SECRET (HS256) the claims of one
// user. A real site signs on its own server, with its own secret or key.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/parley/parley/internal/auth/authtest"
)

func main() {
	sub := flag.String("sub", "", "the user's stable id (required)")
	name := flag.String("name", "", "the display name (preferred_username); default: the id")
	role := flag.String("role", "", "moderator or admin, to moderate")
	ttl := flag.Duration("ttl", 24*time.Hour, "how long the token is valid")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "devtoken: prints a token for one user, signed with AUTH_JWT_SECRET (HS256)\n\nUsage: AUTH_JWT_SECRET=… devtoken -sub ID [-name NAME] [-role moderator] [-ttl 24h]")
		flag.PrintDefaults()
	}
	flag.Parse()
	secret := os.Getenv("AUTH_JWT_SECRET")
	if *sub == "" || len(secret) < 32 || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	claims := authtest.NewClaims(*sub, time.Now(), *ttl)
	if *name != "" {
		claims["preferred_username"] = *name
	}
	if *role != "" {
		claims["role"] = *role
	}
	tok, err := authtest.SignHS256([]byte(secret), claims)
	if err != nil {
		fmt.Fprintln(os.Stderr, "devtoken:", err)
		os.Exit(1)
	}
	fmt.Println(tok)
}
