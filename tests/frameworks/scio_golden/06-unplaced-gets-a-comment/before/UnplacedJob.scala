package com.acme.jobs

import com.google.api.services.bigquery.model.TableRow
import com.spotify.scio._
import com.spotify.scio.bigquery._
import com.spotify.scio.values.SCollection

// What gaggle cannot place still gets a comment in the file, above its statement.
object UnplacedJob {
  val Source = "acme-prod.core.users_v1"

  // followed: this def reads the rows handed to it by .map(toKey)
  def toKey(row: TableRow): String = row.getString("country")

  def countries(rows: SCollection[TableRow]): SCollection[String] =
    rows.map(r => r.getString("country"))

  def main(cmdlineArgs: Array[String]): Unit = {
    val (sc, args) = ContextAndArgs(cmdlineArgs)
    sc.bigQuerySelect(Query(s"SELECT country FROM `$Source` WHERE plan = 'pro'"))
      .saveAsTextFile(args("out"))

    sc.bigQueryTable(Table.Spec(Source))
      .map(toKey)
      .saveAsTextFile(args("out") + "-keys")

    // a function of another library: gaggle cannot see which columns it reads
    sc.bigQueryTable(Table.Spec(Source))
      .map(RowKeys.countryOf)
      .saveAsTextFile(args("out") + "-keys2")

    val rows = sc.bigQueryTable(Table.Spec(Source))
    countries(rows).saveAsTextFile(args("out") + "-countries")

    val snapshot = "acme-prod:core.users_v1$20240101"
    val users_v1 = sc.bigQueryTable(Table.Spec(snapshot))
    users_v1.saveAsTextFile(args("out") + "-snapshot")
    sc.run()
    ()
  }
}
