/**
 * The store every runner and client of the example shares: Postgres at CLUSTER_PG_URL (several
 * runners, several hosts), else an SQLite file (embedded, one runner).
 */
import * as Os from "node:os"
import * as Path from "node:path"
import * as LibsqlClient from "@effect/sql-libsql/LibsqlClient"
import * as PgClient from "@effect/sql-pg/PgClient"
import * as Redacted from "effect/Redacted"

export const postgresUrl = process.env["CLUSTER_PG_URL"]
export const sqliteFile = process.env["CLUSTER_DB"] ?? Path.join(Os.tmpdir(), "effect-tractor-cluster-example.db")

export const store = postgresUrl !== undefined
  ? PgClient.layer({ url: Redacted.make(postgresUrl) })
  : LibsqlClient.layer({ url: `file:${sqliteFile}`, intMode: "bigint" })
