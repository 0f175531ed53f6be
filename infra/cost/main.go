// Command cost measures what a simulated month of Siyu costs for brands of
// 10^3, 10^4 and 10^5 customers, from counts taken while the WeCom
// simulator drives the real app (every handler and job, in process) over a
// SQLite store wrapped by the DynamoDB meter (shared/store/metered), and
// prices them at published on-demand list prices.
//
//	go run ./infra/cost                  # all sizes, writes build/cost.md
//	go run ./infra/cost -sizes 1000 -days 3
//
// What is measured: invocations per function (each callback request, each
// poster tick, each nightly run, each dashboard request, each first-touch
// invoke of the poster the callback makes per add or delete), wall time per
// invocation in process, DynamoDB read and write request units, WeCom API
// calls, log bytes and the table's size after the month. What is assumed is
// printed with the table (model.Assumptions).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

func main() {
	var (
		sizesFlag = flag.String("sizes", "1000,10000,100000", "brand sizes in customers to simulate, comma-separated")
		extraFlag = flag.String("extrapolate", "", "brand sizes to extrapolate linearly from the largest simulated one (none by default)")
		days      = flag.Int("days", 30, "days to simulate per size (scaled to a 30-day month)")
		bigDays   = flag.Int("big-days", 30, "days to simulate for sizes of 10^5 customers and more (scaled linearly when fewer than days)")
		out       = flag.String("out", filepath.Join("build", "cost.md"), "markdown file to write")
		verbose   = flag.Bool("v", false, "log the app's own messages to stderr")
	)
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	var sizes []Size
	for _, f := range strings.Split(*sizesFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			logger.Error("bad -sizes", "value", f)
			os.Exit(2)
		}
		d := *days
		if n >= 100_000 {
			d = min(d, *bigDays)
		}
		sizes = append(sizes, SizeFor(n, d))
	}
	ctx := context.Background()
	var months []Month
	for _, s := range sizes {
		start := time.Now()
		logger.Info("measuring", "customers", s.Customers, "members", s.Members, "daily_adds", s.DailyAdds, "days", s.Days)
		progress := func(day, deliveries int, took time.Duration) {
			logger.Info("day simulated", "customers", s.Customers, "day", day+1, "of", s.Days, "deliveries", deliveries, "took", took.Round(time.Millisecond))
		}
		m, err := Measure(ctx, s, Options{Verbose: *verbose, Progress: progress})
		if err != nil {
			logger.Error("measure", "customers", s.Customers, "err", err)
			os.Exit(1)
		}
		logger.Info("measured", "customers", s.Customers, "deliveries", m.Deliveries, "took", time.Since(start).Round(time.Second))
		months = append(months, m)
	}
	for _, f := range strings.Split(*extraFlag, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 || len(months) == 0 {
			logger.Error("bad -extrapolate (or nothing simulated)", "value", f)
			os.Exit(2)
		}
		months = append(months, Extrapolate(months[len(months)-1], n))
	}
	md := Render(months, time.Now().UTC())
	fmt.Print(md)
	if *out != "" {
		if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
			logger.Error("write", "err", err)
			os.Exit(1)
		}
		if err := os.WriteFile(*out, []byte(md), 0o644); err != nil {
			logger.Error("write", "err", err)
			os.Exit(1)
		}
		logger.Info("written", "path", *out)
	}
}
