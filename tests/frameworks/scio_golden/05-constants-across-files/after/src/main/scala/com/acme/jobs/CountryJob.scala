package com.acme.jobs

import com.acme.shared.Tables
import com.spotify.scio._
import com.spotify.scio.bigquery._

object CountryJob {
  def main(cmdlineArgs: Array[String]): Unit = {
    val (sc, args) = ContextAndArgs(cmdlineArgs)
    // TODO(data-migration users_v2): TableRow field "country" is now geo.country_code. See https://wiki.example.com/data/users-v2
    sc.bigQueryTable(Table.Spec(Tables.Users))
      .map(row => (row.getString("country"), row.getString("display_name")))
      .saveAsTextFile(args("out"))
    sc.bigQueryTable(Table.Spec(Tables.Orders))
      .map(row => row.getString("country"))
      .saveAsTextFile(args("out") + "-orders")
    sc.run()
    ()
  }
}
