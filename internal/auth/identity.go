package auth

import (
	"strings"

	"github.com/golang-jwt/jwt/v5"

	"github.com/parley/parley/internal/comment"
	"github.com/parley/parley/internal/errs"
)

// moderatorRoles are the roles that grant moderation (SPEC §8).
var moderatorRoles = []string{"moderator", "admin"}

// Identity is who a verified token speaks for.
type Identity struct {
	Subject   string // sub: the host site's stable user id, the comment's author id
	Name      string // preferred_username, else name, else sub: the display name a body's user must match
	Moderator bool   // role or roles holds "moderator" or "admin"
}

// identity reads an Identity from verified claims: sub is required; a
// display name claim, when present, must be clean text; role may be a
// string or an array, and so may roles; other types grant nothing.
func identity(c jwt.MapClaims) (Identity, error) {
	v, present := c["sub"]
	sub, isString := v.(string)
	switch {
	case !present || isString && sub == "":
		return Identity{}, errs.Unauthorized.New("token lacks sub")
	case !isString:
		return Identity{}, errs.Unauthorized.New("token's sub must be a string")
	}
	if comment.ValidateUserID(sub) != nil {
		return Identity{}, errs.Unauthorized.New("token's sub must be at most %d bytes of text without control characters", comment.MaxUserIDLen)
	}
	id := Identity{Subject: sub, Name: sub}
	for _, claim := range []string{"preferred_username", "name"} {
		s, _ := c[claim].(string)
		if strings.TrimSpace(s) == "" {
			continue
		}
		if comment.ValidateUserID(s) != nil {
			return Identity{}, errs.Unauthorized.New("token's %s must be at most %d bytes of text without control characters", claim, comment.MaxUserIDLen)
		}
		id.Name = s
		break
	}
	for _, claim := range []string{"role", "roles"} {
		for _, r := range roles(c[claim]) {
			for _, m := range moderatorRoles {
				id.Moderator = id.Moderator || r == m
			}
		}
	}
	return id, nil
}

// roles reads a role claim: a string, or an array whose strings count.
func roles(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, r := range v {
			if s, ok := r.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
