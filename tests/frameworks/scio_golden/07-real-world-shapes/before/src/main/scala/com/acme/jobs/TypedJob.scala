package com.acme.jobs

import com.spotify.scio._
import com.spotify.scio.bigquery._
import com.spotify.scio.bigquery.types.BigQueryType

object TypedJob {
  @BigQueryType.fromTable("acme-prod:core.users_v1")
  class Row

  def main(cmdlineArgs: Array[String]): Unit = {
    val (sc, args) = ContextAndArgs(cmdlineArgs)
    sc.typedBigQuery[Row]().map(r => r.country).saveAsTextFile(args("output"))
    sc.run()
    ()
  }
}
