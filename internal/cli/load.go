package cli

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/parley/parley/client"
)

func init() {
	commands["load"] = command{"[-topics N] [-comments M] [-concurrency C] [-state FILE]",
		"post N topics of M comments in parallel, and keep what was acknowledged in FILE for verify", flagsLoad}
	commands["verify"] = command{"[-state FILE] [-readers URL,URL]",
		"check that every write load acknowledged is on the site and on each reader exactly once", flagsVerify}
}

// loadState is what load acknowledged, for verify.
type loadState struct {
	Site     string        `json:"site"`
	Position int64         `json:"position"` // the highest position acknowledged
	Topics   []loadedTopic `json:"topics"`
}

type loadedTopic struct {
	TopicID  string   `json:"topic_id"`
	Comments []string `json:"comments"` // the contents acknowledged, root first
}

// loadSummary is load's report.
type loadSummary struct {
	Acknowledged int      `json:"acknowledged"`
	Retried      int64    `json:"retried"`
	Failed       int      `json:"failed"`
	Seconds      float64  `json:"seconds"`
	PerSecond    float64  `json:"per_second"`
	State        string   `json:"state"`
	Errors       []string `json:"errors,omitempty"` // the first few
}

func flagsLoad(fs *flag.FlagSet) func(context.Context, *env, []string) error {
	topics := fs.Int("topics", 10, "topics to start")
	per := fs.Int("comments", 100, "comments per topic, its root included")
	conc := fs.Int("concurrency", 16, "calls at once")
	state := fs.String("state", "parley-load.json", "where to keep what was acknowledged")
	user := fs.String("user", "loader", "the authors' name (without a token)")
	return func(ctx context.Context, e *env, args []string) error {
		if len(args) != 0 || *topics < 1 || *per < 1 || *conc < 1 {
			return errUsage
		}
		run := client.NewKey()[:8]
		st := loadState{Site: e.site, Topics: make([]loadedTopic, *topics)}
		var bar *progressbar.ProgressBar
		if !e.quiet {
			bar = progressbar.NewOptions(*topics**per, progressbar.OptionSetWriter(e.errOut),
				progressbar.OptionSetDescription("posting"), progressbar.OptionShowCount(), progressbar.OptionThrottle(100*time.Millisecond))
		}
		var mu sync.Mutex
		sum := loadSummary{State: *state}
		fail := func(err error) {
			mu.Lock()
			sum.Failed++
			if len(sum.Errors) < 5 {
				sum.Errors = append(sum.Errors, err.Error())
			}
			mu.Unlock()
		}
		began := time.Now()
		work := make(chan int)
		var wg sync.WaitGroup
		for range min(*conc, *topics) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range work {
					st.Topics[i] = loadTopic(ctx, e.c, run, i, *per, *user, bar, fail, &mu)
				}
			}()
		}
	feed:
		for i := range *topics {
			select {
			case work <- i:
			case <-ctx.Done():
				break feed
			}
		}
		close(work)
		wg.Wait()
		if bar != nil {
			_ = bar.Finish()
			fmt.Fprintln(e.errOut)
		}
		for _, t := range st.Topics {
			sum.Acknowledged += len(t.Comments)
		}
		st.Position = e.c.Position()
		sum.Retried = e.c.Stats().Retries.Load()
		sum.Seconds = time.Since(began).Seconds()
		sum.PerSecond = float64(sum.Acknowledged) / sum.Seconds
		if err := writeState(*state, st); err != nil {
			return err
		}
		if err := e.print(sum, func(w io.Writer) {
			fmt.Fprintf(w, "acknowledged %d, retried %d, failed %d, in %.1f s (%.0f/s); state in %s\n",
				sum.Acknowledged, sum.Retried, sum.Failed, sum.Seconds, sum.PerSecond, sum.State)
			for _, msg := range sum.Errors {
				fmt.Fprintln(w, "  error:", msg)
			}
		}); err != nil {
			return err
		}
		if sum.Failed > 0 {
			return fmt.Errorf("%d writes failed after every retry", sum.Failed)
		}
		return ctx.Err()
	}
}

// loadTopic starts topic i and posts its replies, one after another (the
// parallelism is across topics), each to the root or to a reply posted
// before it. It returns what was acknowledged.
func loadTopic(ctx context.Context, c *client.Client, run string, i, per int, user string,
	bar *progressbar.ProgressBar, fail func(error), mu *sync.Mutex) loadedTopic {
	var t loadedTopic
	step := func() {
		if bar != nil {
			mu.Lock()
			_ = bar.Add(1)
			mu.Unlock()
		}
	}
	content := fmt.Sprintf("load %s topic %d comment 0", run, i)
	root, err := c.PostComment(ctx, client.NewComment{Content: content, User: user})
	step()
	if err != nil {
		fail(err)
		for range per - 1 {
			step()
		}
		return t
	}
	t.TopicID, t.Comments = root.TopicID, []string{content}
	paths := []string{"0"}
	rng := rand.New(rand.NewPCG(uint64(i), 7))
	for j := 1; j < per && ctx.Err() == nil; j++ {
		content := fmt.Sprintf("load %s topic %d comment %d", run, i, j)
		parent := paths[rng.IntN(len(paths))]
		p, err := c.PostComment(ctx, client.NewComment{TopicID: root.TopicID, ParentPath: parent, Content: content, User: user})
		step()
		if err != nil {
			fail(err)
			continue
		}
		t.Comments = append(t.Comments, content)
		if strings.Count(p.ParentPath, "/") < 20 {
			paths = append(paths, p.ParentPath)
		}
	}
	return t
}

func writeState(path string, st loadState) error {
	b, err := json.MarshalIndent(st, "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// verifyReport is what verify found on one site or reader.
type verifyReport struct {
	Target       string   `json:"target"`
	Acknowledged int      `json:"acknowledged"`
	Present      int      `json:"present"`
	Missing      int      `json:"missing"`
	Duplicated   int      `json:"duplicated"`
	Unacked      int      `json:"unacknowledged"`        // present but never acknowledged: a call that failed after its commit
	Differences  []string `json:"differences,omitempty"` // the first few
}

func flagsVerify(fs *flag.FlagSet) func(context.Context, *env, []string) error {
	state := fs.String("state", "parley-load.json", "what load acknowledged")
	readers := fs.String("readers", "", "readers to check directly too, comma-separated URLs")
	return func(ctx context.Context, e *env, args []string) error {
		if len(args) != 0 {
			return errUsage
		}
		raw, err := os.ReadFile(*state)
		if err != nil {
			return err
		}
		var st loadState
		if err := json.Unmarshal(raw, &st); err != nil {
			return fmt.Errorf("%s: %w", *state, err)
		}
		targets := []string{e.site}
		for _, r := range strings.Split(*readers, ",") {
			if r = strings.TrimSpace(r); r != "" {
				targets = append(targets, r)
			}
		}
		var reports []verifyReport
		bad := 0
		for _, target := range targets {
			rep, err := verifyOn(ctx, client.New(target), target, st)
			if err != nil {
				return fmt.Errorf("%s: %w", target, err)
			}
			bad += rep.Missing + rep.Duplicated
			reports = append(reports, rep)
		}
		if err := e.print(reports, func(w io.Writer) {
			for _, r := range reports {
				fmt.Fprintf(w, "%s: acknowledged %d, present %d, missing %d, duplicated %d, unacknowledged %d\n",
					r.Target, r.Acknowledged, r.Present, r.Missing, r.Duplicated, r.Unacked)
				for _, d := range r.Differences {
					fmt.Fprintln(w, "  "+d)
				}
			}
		}); err != nil {
			return err
		}
		if bad > 0 {
			return fmt.Errorf("%d differences", bad)
		}
		return nil
	}
}

// verifyOn reads every loaded topic from target, once it has reached the
// load's last position, and compares.
func verifyOn(ctx context.Context, c *client.Client, target string, st loadState) (verifyReport, error) {
	rep := verifyReport{Target: target}
	differ := func(format string, args ...any) {
		if len(rep.Differences) < 20 {
			rep.Differences = append(rep.Differences, fmt.Sprintf(format, args...))
		}
	}
	for _, t := range st.Topics {
		if t.TopicID == "" {
			continue
		}
		rep.Acknowledged += len(t.Comments)
		thread, err := c.Thread(ctx, client.ThreadQuery{TopicID: t.TopicID, Limit: 1000, MinPosition: st.Position})
		if err != nil {
			return rep, err
		}
		seen := map[string]int{}
		for _, cm := range thread {
			seen[cm.Content]++
		}
		acked := map[string]bool{}
		for _, content := range t.Comments {
			acked[content] = true
			switch n := seen[content]; {
			case n == 0:
				rep.Missing++
				differ("missing in %s: %q", t.TopicID, content)
			case n > 1:
				rep.Duplicated++
				differ("%d times in %s: %q", n, t.TopicID, content)
			default:
				rep.Present++
			}
		}
		for content := range seen {
			if !acked[content] {
				rep.Unacked++
			}
		}
	}
	return rep, nil
}
