package com.acme.jobs

import com.google.api.services.bigquery.model.TableRow
import com.spotify.scio._
import com.spotify.scio.bigquery._
import com.spotify.scio.values.SCollection

// What gaggle cannot place still gets a comment in the file, above its statement.
object UnplacedJob {
  val Source = "acme-prod.core.users_v2"

  // followed: this def reads the rows handed to it by .map(toKey)
  // TODO(data-migration users_v2): TableRow field "country" is now geo.country_code. See https://wiki.example.com/data/users-v2
  def toKey(row: TableRow): String = row.getString("country")

  def countries(rows: SCollection[TableRow]): SCollection[String] =
    rows.map(r => r.getString("country"))

  def main(cmdlineArgs: Array[String]): Unit = {
    val (sc, args) = ContextAndArgs(cmdlineArgs)
    // TODO(data-migration users_v2): the query reads Source, which names an old table, through an interpolation: gaggle cannot rewrite its columns; check them by hand. See https://wiki.example.com/data/users-v2
    sc.bigQuerySelect(Query(s"SELECT country FROM `$Source` WHERE plan = 'pro'"))
      .saveAsTextFile(args("out"))

    sc.bigQueryTable(Table.Spec(Source))
      .map(toKey)
      .saveAsTextFile(args("out") + "-keys")

    // a function of another library: gaggle cannot see which columns it reads
    // TODO(data-migration users_v2): rows of acme-prod.core.users_v2 (TableRow) go to RowKeys.countryOf, which gaggle does not follow: check the columns it reads. See https://wiki.example.com/data/users-v2
    sc.bigQueryTable(Table.Spec(Source))
      .map(RowKeys.countryOf)
      .saveAsTextFile(args("out") + "-keys2")

    val rows = sc.bigQueryTable(Table.Spec(Source))
    // TODO(data-migration users_v2): rows holds rows of acme-prod.core.users_v2 (TableRow) and is passed to a function gaggle does not follow: check the columns it reads. See https://wiki.example.com/data/users-v2
    countries(rows).saveAsTextFile(args("out") + "-countries")

    // TODO(data-migration users_v2): 'acme-prod:core.users_v1$20240101' mentions an old table but is neither a table name nor a query; migrate it by hand. See https://wiki.example.com/data/users-v2
    val snapshot = "acme-prod:core.users_v1$20240101"
    // TODO(data-migration users_v2): users_v1 in Scala code names an old table; migrate it by hand. See https://wiki.example.com/data/users-v2
    val users_v1 = sc.bigQueryTable(Table.Spec(snapshot))
    // TODO(data-migration users_v2): users_v1 in Scala code names an old table; migrate it by hand. See https://wiki.example.com/data/users-v2
    users_v1.saveAsTextFile(args("out") + "-snapshot")
    sc.run()
    ()
  }
}
