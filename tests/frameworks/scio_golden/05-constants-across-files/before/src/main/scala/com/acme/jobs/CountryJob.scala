package com.acme.jobs

import com.acme.shared.Tables
import com.spotify.scio._
import com.spotify.scio.bigquery._

object CountryJob {
  def main(cmdlineArgs: Array[String]): Unit = {
    val (sc, args) = ContextAndArgs(cmdlineArgs)
    sc.bigQueryTable(Table.Spec(Tables.Users))
      .map(row => (row.getString("country"), row.getString("full_name")))
      .saveAsTextFile(args("out"))
    sc.bigQueryTable(Table.Spec(Tables.Orders))
      .map(row => row.getString("country"))
      .saveAsTextFile(args("out") + "-orders")
    sc.run()
    ()
  }
}
