//go:build scf && scftest

package main

// The SCF end-to-end test runs this binary with the embedded SQLite adapter
// linked in as well, so that it needs no database server inside the test's
// network namespace. Release SCF builds (-tags scf) never carry this file:
// they link only the mysql adapter (TDSQL-C), and the size check asserts
// that no SQLite code is in them.
import _ "github.com/siyuhq/siyu/shared/store/sqlstore/sqlite"
