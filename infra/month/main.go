// Command month lives a brand's month (or year) through the whole stack
// under faults and checks every number against the ground truth the
// scenario kept: callbacks sealed as WeCom seals them, delivered 1–4 times
// (some at once, some hours later) to the real handlers; 1 % of store
// writes failing; a two-hour outage the nightly sync recovers; the stack
// killed with SIGKILL mid-stream and restarted on the same store; two
// poster ticks overlapping every minute, one dying between its WeCom call
// and its state write; the access token expiring; WeCom answering -1 and
// 45009. One clock drives the simulator, the stack and the child.
//
//	go run ./infra/month -customers 100000 -days 365   # make soak
//
// The test (month_test.go) runs a smaller brand's month on SQLite and on
// dynalite.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"time"

	rolluproot "github.com/siyuhq/siyu/functions/rollup/root"
	"github.com/siyuhq/siyu/shared/calendar"
	"github.com/siyuhq/siyu/shared/store"
	"github.com/siyuhq/siyu/shared/store/sqlstore/sqlite"
	"github.com/siyuhq/siyu/shared/testclock"
	"github.com/siyuhq/siyu/shared/wecom"
)

func main() {
	if os.Getenv(ChildEnv) == "1" {
		if err := ServeChild(); err != nil {
			fmt.Fprintln(os.Stderr, "month child:", err)
			os.Exit(1)
		}
		return
	}
	os.Exit(soak())
}

// soak runs the command and returns its exit code (so that deferred work,
// the profile and the temporary directory, is done first).
func soak() int {
	var (
		customers = flag.Int("customers", 100_000, "baseline customers of the brand")
		days      = flag.Int("days", 365, "days to live")
		firstDay  = flag.String("first", "", "the first day lived, YYYY-MM-DD (default: the days before yesterday, Beijing time); a run with the same flags and first day plays the same brand")
		seed      = flag.Int64("seed", 20261201, "scenario seed")
		steady    = flag.Bool("steady", true, "a brand that keeps its size (adds 0.5 % a day, balanced by churn); false: one growing 1.5 % a day")
		kills     = flag.Int("kills", 2, "times the child stack is killed with SIGKILL")
		welcomes  = flag.Bool("welcomes-sent", false, "check that every fresh welcome code was greeted exactly once (when the stack sends welcomes)")
		dir       = flag.String("dir", "", "directory of the SQLite file (a temporary one by default)")
		cpuprof   = flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	)
	flag.Parse()
	if os.Getenv("GOGC") == "" {
		// The simulator and the truth hold a big brand's whole life; the
		// collector need not chase them. The nightly runs at the default
		// (see nightly), so its peak heap is the one the cloud would see.
		debug.SetGCPercent(400)
	}
	if *cpuprof != "" {
		f, err := os.Create(*cpuprof)
		if err != nil {
			fmt.Fprintln(os.Stderr, "month:", err)
			return 1
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "month:", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx := context.Background()
	d := *dir
	if d == "" {
		var err error
		if d, err = os.MkdirTemp("", "siyu-month-*"); err != nil {
			logger.Error("temp dir", "err", err)
			return 1
		}
		defer os.RemoveAll(d)
	}
	path := filepath.Join(d, "month.db")
	first := calendar.Of(time.Now(), wecom.Beijing).AddDays(-*days - 1)
	if *firstDay != "" {
		d, err := calendar.Parse(*firstDay)
		if err != nil {
			fmt.Fprintln(os.Stderr, "month: -first:", err)
			return 2
		}
		first = d
	}
	logger.Info("living", "first", first.String(), "days", *days, "customers", *customers, "seed", *seed)
	last := map[string]Step{}
	figs, err := RunOnSQLite(ctx, path, Options{Seed: *seed, Customers: *customers, Days: *days, First: first,
		Steady: *steady, Faults: true, WelcomesSent: *welcomes, Kills: *kills, Logger: logger,
		Progress: func(day int, f Figures) {
			attrs := []any{"day", day + 1, "of", *days, "events", f.Events, "nightly", f.NightlyLast.Round(time.Millisecond),
				"nightly_max", f.NightlyMax.Round(time.Millisecond), "nightly_requests_max", f.NightlyRequestsMax}
			for _, job := range rolluproot.NightlySteps {
				st := f.NightlySteps[job]
				attrs = append(attrs, job, (st.Time - last[job].Time).Round(time.Millisecond), job+"_items", st.Items-last[job].Items)
				last[job] = st
			}
			logger.Info("day done", attrs...)
		}}, os.Args[0], nil)
	fmt.Print(figs.Summary())
	if err != nil {
		logger.Error("month", "err", err)
		return 1
	}
	if figs.Mismatches > 0 || figs.Panics > 0 || figs.Unexpected5xx > 0 {
		return 1
	}
	return 0
}

// RunOnSQLite runs opts on a SQLite file at path, with children of exe
// (args) serving the same file.
func RunOnSQLite(ctx context.Context, path string, opts Options, exe string, args []string) (Figures, error) {
	if opts.Clock == nil {
		opts.Clock = testclock.New(opts.First.Start(wecom.Beijing))
	}
	st, err := sqlite.Open(ctx, path, store.WithClock(opts.Clock.Now))
	if err != nil {
		return Figures{}, err
	}
	defer st.Close()
	if opts.Kills > 0 {
		opts.Child = func(ctx context.Context, env map[string]string, stderr io.Writer) (*Child, error) {
			env["SIYU_STORE"] = "sqlite:" + path
			return StartChild(ctx, exe, args, env, stderr)
		}
	}
	return Run(ctx, store.Store(st), opts)
}
