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
	"github.com/parley/parley/internal/comment"
)

func init() {
	commands["post"] = command{"[-topic ID] [-parent PATH] [-user NAME] [-key KEY] CONTENT",
		"post a comment, or start a topic without -topic", flagsPost}
	commands["edit"] = command{"[-if-match VERSION] TOPIC COMMENT CONTENT", "replace a comment's content\n\n" + commentHelp + ifMatchHelp, flagsEdit}
	commands["delete"] = command{"[-if-match VERSION] TOPIC COMMENT",
		"delete a comment (soft: it stays in the thread)\n\n" + commentHelp + ifMatchHelp, flagsDelete}
	commands["vote"] = command{"[-user NAME] TOPIC COMMENT up|down|none", "vote on a comment, or withdraw the vote\n\n" + commentHelp, flagsVote}
	commands["topic"] = command{"TOPIC", "one topic: its root comment and counts", flagsTopic}
	commands["comment"] = command{"TOPIC COMMENT", "one comment, with its version (ETag) for -if-match\n\n" + commentHelp, flagsComment}
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

const (
	commentHelp = "COMMENT is the comment's id (17) or its path (0/4/17, which ends with the id).\n"
	ifMatchHelp = "With -if-match, only if the comment is still at that version (its ETag, as\n" +
		"'parley comment' or an edit shows it); else 412 and nothing changes.\n"
)

// commentArg reads a comment named on the command line by its id or its
// path.
func commentArg(s string) (int32, error) {
	if p, err := comment.ParsePath(s); err == nil {
		return p.ID(), nil
	}
	id, err := comment.ParseID(s)
	if err != nil {
		return 0, fmt.Errorf("%q is neither a comment id (17) nor a path (0/4/17)", s)
	}
	return id, nil
}

// topicComment reads the TOPIC COMMENT that begin args, which must be n.
func topicComment(args []string, n int) (string, int32, error) {
	if len(args) != n {
		return "", 0, errUsage
	}
	id, err := commentArg(args[1])
	return args[0], id, err
}

// ifMatchFlag is -if-match: a version as ETag shows it ("1764000000123"),
// or without its quotes, or *.
func ifMatchFlag(fs *flag.FlagSet) func() string {
	v := fs.String("if-match", "", "only if the comment is at this `VERSION` (its ETag, quotes optional)")
	return func() string {
		if *v == "" || *v == "*" || strings.HasPrefix(*v, `"`) || strings.HasPrefix(*v, "W/") {
			return *v
		}
		return `"` + *v + `"`
	}
}

func written(e *env, what string, w client.Written) error {
	return e.print(w, func(out io.Writer) { fmt.Fprintf(out, "%s (position %d)\n", what, w.Position) })
}

func flagsEdit(fs *flag.FlagSet) func(context.Context, *env, []string) error {
	ifMatch := ifMatchFlag(fs)
	return func(ctx context.Context, e *env, args []string) error {
		topic, id, err := topicComment(args, 3)
		if err != nil {
			return err
		}
		u, err := e.c.UpdateComment(ctx, topic, id, args[2], ifMatch())
		if err != nil {
			return err
		}
		return e.print(u, func(w io.Writer) {
			fmt.Fprintf(w, "edited %d, now at version %s (position %d)\n", id, u.ETag, u.Position)
		})
	}
}

func flagsDelete(fs *flag.FlagSet) func(context.Context, *env, []string) error {
	ifMatch := ifMatchFlag(fs)
	return func(ctx context.Context, e *env, args []string) error {
		topic, id, err := topicComment(args, 2)
		if err != nil {
			return err
		}
		w, err := e.c.RemoveComment(ctx, topic, id, ifMatch())
		if err != nil {
			return err
		}
		return written(e, "deleted "+strconv.Itoa(int(id)), w)
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
		topic, id, err := topicComment(args, 3)
		if err != nil {
			return err
		}
		v, err := e.c.PutVote(ctx, topic, id, value, *user)
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
				fmt.Fprintln(w, strings.Repeat("  ", strings.Count(c.ParentPath, "/"))+threadLine(c, ""))
			}
		})
	}
}

// threadLine is a comment as thread shows it, with extra before its text.
func threadLine(c client.Comment, extra string) string {
	text := c.Content
	if c.Deleted {
		text = "[deleted]"
	}
	return fmt.Sprintf("%s %s (+%d −%d, %d views)%s: %s", c.ParentPath, c.User, c.Up, c.Down, c.ViewCount, extra, oneLine(text))
}

func flagsComment(fs *flag.FlagSet) func(context.Context, *env, []string) error {
	return func(ctx context.Context, e *env, args []string) error {
		topic, id, err := topicComment(args, 2)
		if err != nil {
			return err
		}
		c, etag, err := e.c.GetComment(ctx, topic, id)
		if err != nil {
			return err
		}
		v := struct {
			client.Comment
			ETag string `json:"etag"`
		}{c, etag}
		return e.print(v, func(w io.Writer) { fmt.Fprintln(w, threadLine(c, " version "+etag)) })
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
				printTopic(w, t)
			}
		})
	}
}

func printTopic(w io.Writer, t client.Topic) {
	fmt.Fprintf(w, "%s %s %d comments (+%d −%d): %s\n", t.TopicID, t.UpdateTime.Format(time.RFC3339), t.CommentCount, t.Up, t.Down, oneLine(t.Content))
}

func flagsTopic(fs *flag.FlagSet) func(context.Context, *env, []string) error {
	return func(ctx context.Context, e *env, args []string) error {
		if len(args) != 1 {
			return errUsage
		}
		t, err := e.c.GetTopic(ctx, args[0])
		if err != nil {
			return err
		}
		return e.print(t, func(w io.Writer) { printTopic(w, t) })
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
