package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/parley/parley/client"
)

func init() {
	commands["post"] = command{"[-topic ID] [-parent PATH] [-user NAME] [-key KEY] CONTENT",
		"post a comment, or start a topic without -topic", flagsPost}
	commands["edit"] = command{"TOPIC PATH CONTENT", "replace a comment's content", flagsEdit}
	commands["delete"] = command{"TOPIC PATH", "delete a comment (soft: it stays in the thread)", flagsDelete}
	commands["vote"] = command{"[-user NAME] TOPIC PATH up|down|none", "vote on a comment, or withdraw the vote", flagsVote}
	commands["ban"] = command{"[-until TIME] [-reason TEXT] USER_ID", "ban a user's writes (moderators)", flagsBan}
	commands["thread"] = command{"[-parent PATH] [-sort old|new|top|best|controversial] [-limit N] TOPIC",
		"read a topic, or a subtree, whole (page by page with -limit)", flagsThread}
	commands["user"] = command{"[-limit N] USER", "a user's latest comments", flagsUser}
	commands["topics"] = command{"[-limit N] [-hot]", "the latest topics, or the hot ones", flagsTopics}
	commands["top"] = command{"[-topic ID] [-since TIME] [-limit N]", "the comments with the most up votes", flagsTop}
	commands["votes"] = command{"[-limit N] USER", "the comments a user voted on", flagsVotes}
	commands["bans"] = command{"", "the bans in force (moderators)", flagsBans}
}

func flagsPost(fs *flag.FlagSet) func(context.Context, *env, []string) error {
	topic := fs.String("topic", "", "the topic to reply in; none: a new topic")
	parent := fs.String("parent", "", "the comment replied to (default 0, the root)")
	user := fs.String("user", "", "the author's name (without a token)")
	key := fs.String("key", "", "the Idempotency-Key (default: a fresh one)")
	return func(ctx context.Context, e *env, args []string) error {
		if len(args) != 1 {
			return errUsage
		}
		p, err := e.c.PostComment(ctx, client.NewComment{TopicID: *topic, ParentPath: *parent, Content: args[0], User: *user}, client.WriteOptions{Key: *key})
		if err != nil {
			return err
		}
		return e.print(p, func(w io.Writer) {
			fmt.Fprintf(w, "posted %s in topic %s (position %d)\n", p.ParentPath, p.TopicID, p.Position)
		})
	}
}

func written(e *env, what string, w client.Written) error {
	return e.print(w, func(out io.Writer) { fmt.Fprintf(out, "%s (position %d)\n", what, w.Position) })
}

func flagsEdit(fs *flag.FlagSet) func(context.Context, *env, []string) error {
	return func(ctx context.Context, e *env, args []string) error {
		if len(args) != 3 {
			return errUsage
		}
		w, err := e.c.EditComment(ctx, args[0], args[1], args[2])
		if err != nil {
			return err
		}
		return written(e, "edited "+args[1], w)
	}
}

func flagsDelete(fs *flag.FlagSet) func(context.Context, *env, []string) error {
	return func(ctx context.Context, e *env, args []string) error {
		if len(args) != 2 {
			return errUsage
		}
		w, err := e.c.DeleteComment(ctx, args[0], args[1])
		if err != nil {
			return err
		}
		return written(e, "deleted "+args[1], w)
	}
}

func flagsVote(fs *flag.FlagSet) func(context.Context, *env, []string) error {
	user := fs.String("user", "", "the voter's name (without a token)")
	return func(ctx context.Context, e *env, args []string) error {
		values := map[string]int{"up": 1, "down": -1, "none": 0}
		value, ok := 0, false
		if len(args) == 3 {
			value, ok = values[args[2]]
		}
		if !ok {
			return errUsage
		}
		v, err := e.c.VoteComment(ctx, args[0], args[1], value, *user)
		if err != nil {
			return err
		}
		return e.print(v, func(w io.Writer) {
			fmt.Fprintf(w, "%s: %d up, %d down (position %d)\n", args[1], v.Up, v.Down, v.Position)
		})
	}
}

func flagsBan(fs *flag.FlagSet) func(context.Context, *env, []string) error {
	until := fs.String("until", "", "RFC 3339 end of the ban (default: for good; past: lifts it)")
	reason := fs.String("reason", "", "why")
	return func(ctx context.Context, e *env, args []string) error {
		if len(args) != 1 {
			return errUsage
		}
		var end *time.Time
		if *until != "" {
			t, err := time.Parse(time.RFC3339, *until)
			if err != nil {
				return fmt.Errorf("-until: %w", err)
			}
			end = &t
		}
		w, err := e.c.BanUser(ctx, args[0], end, *reason)
		if err != nil {
			return err
		}
		return written(e, "banned "+args[0], w)
	}
}

func flagsThread(fs *flag.FlagSet) func(context.Context, *env, []string) error {
	parent := fs.String("parent", "", "the subtree's root (default: the whole topic)")
	sortBy := fs.String("sort", "", "old (default), new, top, best or controversial")
	limit := fs.Int("limit", 0, "comments per page (default: one page)")
	return func(ctx context.Context, e *env, args []string) error {
		if len(args) != 1 {
			return errUsage
		}
		all, err := e.c.Thread(ctx, client.ThreadQuery{TopicID: args[0], ParentPath: *parent, Sort: *sortBy, Limit: *limit})
		if err != nil {
			return err
		}
		return e.print(all, func(w io.Writer) {
			for _, c := range all {
				indent := strings.Repeat("  ", strings.Count(c.ParentPath, "/"))
				text := c.Content
				if c.Deleted {
					text = "[deleted]"
				}
				fmt.Fprintf(w, "%s%s %s (+%d −%d, %d views): %s\n", indent, c.ParentPath, c.User, c.Up, c.Down, c.ViewCount, oneLine(text))
			}
		})
	}
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 100 {
		s = s[:97] + "…"
	}
	return s
}

func printComments(e *env, cs []client.Comment) error {
	return e.print(cs, func(w io.Writer) {
		for _, c := range cs {
			extra := ""
			if c.Vote != 0 {
				extra = " voted " + strconv.Itoa(int(c.Vote))
			}
			fmt.Fprintf(w, "%s %s/%s %s (+%d −%d)%s: %s\n", c.UpdateTime.Format(time.RFC3339), c.TopicID, c.ParentPath, c.User, c.Up, c.Down, extra, oneLine(c.Content))
		}
	})
}

func flagsUser(fs *flag.FlagSet) func(context.Context, *env, []string) error {
	limit := fs.Int("limit", 10, "how many (at most 100)")
	return func(ctx context.Context, e *env, args []string) error {
		if len(args) != 1 {
			return errUsage
		}
		cs, err := e.c.LastUserComments(ctx, args[0], client.ListQuery{Limit: *limit})
		if err != nil {
			return err
		}
		return printComments(e, cs)
	}
}

func flagsTopics(fs *flag.FlagSet) func(context.Context, *env, []string) error {
	limit := fs.Int("limit", 10, "how many (at most 100)")
	hot := fs.Bool("hot", false, "the hot topics instead of the latest")
	return func(ctx context.Context, e *env, args []string) error {
		if len(args) != 0 {
			return errUsage
		}
		list := e.c.LastTopics
		if *hot {
			list = e.c.HotTopics
		}
		ts, err := list(ctx, client.ListQuery{Limit: *limit})
		if err != nil {
			return err
		}
		return e.print(ts, func(w io.Writer) {
			for _, t := range ts {
				fmt.Fprintf(w, "%s %s %d comments (+%d −%d): %s\n", t.TopicID, t.UpdateTime.Format(time.RFC3339), t.CommentCount, t.Up, t.Down, oneLine(t.Content))
			}
		})
	}
}

func flagsTop(fs *flag.FlagSet) func(context.Context, *env, []string) error {
	topic := fs.String("topic", "", "one topic (default: site-wide)")
	since := fs.String("since", "", "only comments created after this RFC 3339 time")
	limit := fs.Int("limit", 10, "how many (at most 100)")
	return func(ctx context.Context, e *env, args []string) error {
		if len(args) != 0 {
			return errUsage
		}
		q := client.ListQuery{Limit: *limit}
		if *since != "" {
			t, err := time.Parse(time.RFC3339, *since)
			if err != nil {
				return fmt.Errorf("-since: %w", err)
			}
			q.From = t
		}
		cs, err := e.c.TopComments(ctx, *topic, q)
		if err != nil {
			return err
		}
		return printComments(e, cs)
	}
}

func flagsVotes(fs *flag.FlagSet) func(context.Context, *env, []string) error {
	limit := fs.Int("limit", 10, "how many (at most 100)")
	return func(ctx context.Context, e *env, args []string) error {
		if len(args) != 1 {
			return errUsage
		}
		cs, err := e.c.UserVotes(ctx, args[0], client.ListQuery{Limit: *limit})
		if err != nil {
			return err
		}
		return printComments(e, cs)
	}
}

func flagsBans(fs *flag.FlagSet) func(context.Context, *env, []string) error {
	return func(ctx context.Context, e *env, args []string) error {
		if len(args) != 0 {
			return errUsage
		}
		bs, err := e.c.Bans(ctx)
		if err != nil {
			return err
		}
		return e.print(bs, func(w io.Writer) {
			for _, b := range bs {
				until := "for good"
				if b.Until != nil {
					until = "until " + b.Until.Format(time.RFC3339)
				}
				fmt.Fprintf(w, "%s banned by %s %s: %s\n", b.UserID, b.By, until, b.Reason)
			}
		})
	}
}
