package testutil

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
)

// MariaDBInstall is the command that installs the MariaDB server.
const MariaDBInstall = "apt-get update && apt-get install -y mariadb-server"

// MariaDBServer is a MariaDB server owned by one test, with a database
// "siyu" that root can use over TCP without a password.
type MariaDBServer struct {
	// DSN is in go-sql-driver form: root@tcp(127.0.0.1:PORT)/siyu.
	DSN string
	// Addr is 127.0.0.1:PORT.
	Addr string

	bin     string
	args    []string
	logPath string
	p       *proc
}

// MariaDB starts a server for the test and returns its DSN.
func MariaDB(tb testing.TB) string {
	tb.Helper()
	return StartMariaDB(tb).DSN
}

// StartMariaDB starts a server for the test on a fresh data directory. The
// server is stopped by PID when the test ends. Start one per top-level test
// and share it among subtests: initialising the data directory takes seconds.
//
// The binary is $SIYU_MARIADBD or mariadbd on PATH (or /usr/sbin);
// mariadb-install-db is looked up beside it.
func StartMariaDB(tb testing.TB) *MariaDBServer {
	tb.Helper()
	bin := os.Getenv("SIYU_MARIADBD")
	if bin == "" {
		bin, _ = lookPath("mariadbd")
	}
	if bin == "" || !executable(bin) {
		missing(tb, "mariadbd", MariaDBInstall)
	}
	installDB := filepath.Join(filepath.Dir(bin), "mariadb-install-db")
	if !executable(installDB) {
		var err error
		if installDB, err = lookPath("mariadb-install-db"); err != nil {
			missing(tb, "mariadb-install-db", MariaDBInstall)
		}
	}

	dir := tb.TempDir()
	datadir := filepath.Join(dir, "data")
	// A unix socket path must stay under ~100 bytes; test names make
	// TempDir paths long.
	sockDir, err := os.MkdirTemp("", "siyu-mdb-")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { os.RemoveAll(sockDir) })

	var userArgs []string
	if os.Geteuid() == 0 {
		userArgs = []string{"--user=root"} // mariadbd refuses to run as root otherwise
	}
	// Test speed and disk over durability: small redo log, no fsync.
	fast := []string{"--innodb-log-file-size=8M", "--innodb-flush-method=nosync", "--innodb-doublewrite=0"}
	install := append([]string{
		"--no-defaults", "--datadir=" + datadir, "--auth-root-authentication-method=normal",
		"--skip-test-db", "--skip-name-resolve",
	}, append(fast, userArgs...)...)
	logPath := filepath.Join(dir, "mariadb.log")
	ip, err := startProc(logPath, installDB, install...)
	if err != nil {
		tb.Fatal(err)
	}
	<-ip.exited
	if ip.err != nil {
		tb.Fatalf("mariadb-install-db: %v\n%s", ip.err, tail(logPath))
	}

	port := FreePort(tb)
	s := &MariaDBServer{
		Addr:    hostPort(port),
		DSN:     fmt.Sprintf("root@tcp(%s)/siyu", hostPort(port)),
		bin:     bin,
		logPath: logPath,
		args: append([]string{
			"--no-defaults",
			"--datadir=" + datadir,
			"--bind-address=127.0.0.1",
			"--port=" + strconv.Itoa(port),
			"--socket=" + filepath.Join(sockDir, "mysqld.sock"),
			"--pid-file=" + filepath.Join(dir, "mysqld.pid"),
			"--log-error=" + logPath,
			"--skip-name-resolve",
			"--skip-log-bin",
			"--innodb-buffer-pool-size=64M",
			"--innodb-flush-log-at-trx-commit=2",
		}, append(fast, userArgs...)...),
	}
	// Registered after TempDir, so it runs first: the server stops before
	// its data directory is removed.
	tb.Cleanup(s.Stop)
	if err := s.Start(); err != nil {
		tb.Fatal(err)
	}

	db, err := sql.Open("mysql", fmt.Sprintf("root@tcp(%s)/", s.Addr))
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(context.Background(), "CREATE DATABASE IF NOT EXISTS siyu"); err != nil {
		tb.Fatalf("mariadb: create database: %v", err)
	}
	return s
}

// Start starts the server (again, after Stop) on the same data directory
// and port, and waits until it accepts connections.
func (s *MariaDBServer) Start() error {
	if s.p != nil {
		select {
		case <-s.p.exited:
		default:
			return nil // running
		}
	}
	p, err := startProc(s.logPath, s.bin, s.args...)
	if err != nil {
		return err
	}
	s.p = p
	if err := p.waitPort(s.Addr, 60*time.Second); err != nil {
		p.stop(5 * time.Second)
		return fmt.Errorf("mariadb: %w\n%s", err, tail(s.logPath))
	}
	return s.ping()
}

// ping waits until the server answers a query; the port opens a moment
// before the server is ready.
func (s *MariaDBServer) ping() error {
	cfg := mysql.NewConfig()
	cfg.User, cfg.Net, cfg.Addr = "root", "tcp", s.Addr
	cfg.Timeout = time.Second
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return err
	}
	db := sql.OpenDB(conn)
	defer db.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := db.PingContext(ctx)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("mariadb: not answering on %s: %w\n%s", s.Addr, err, tail(s.logPath))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop shuts the server down (SIGTERM to its PID) and waits until it exits.
// Clients see their connections drop, as when a serverless database pauses.
func (s *MariaDBServer) Stop() {
	if s.p != nil {
		s.p.stop(30 * time.Second)
	}
}
