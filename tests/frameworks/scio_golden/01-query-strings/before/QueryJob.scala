package com.acme.jobs

import com.spotify.scio._
import com.spotify.scio.bigquery._
import com.spotify.scio.bigquery.types.BigQueryType
import org.apache.beam.sdk.io.gcp.bigquery.BigQueryIO

// Standard SQL in every string form Scio code uses: all go through the SQL engine.
object QueryJob {
  @BigQueryType.fromQuery("SELECT user_id, email, country FROM `acme-prod.core.users_v1`")
  class Contact

  @BigQueryType.fromQuery(
    """
      |#standardSQL
      |SELECT u.user_id, u.plan, u.is_active
      |FROM `acme-prod.core.users_v1` AS u
      |WHERE u.region = 'EMEA'
      |""".stripMargin
  )
  class Plan

  def main(cmdlineArgs: Array[String]): Unit = {
    val (sc, args) = ContextAndArgs(cmdlineArgs)
    val day = args("day")
    val minOrders = args.int("minOrders")

    sc.typedBigQuery[Contact]().map(c => (c.email, c.country)).saveAsTextFile(args("out"))
    sc.typedBigQuery[Plan]().map(p => p.plan.getOrElse("free")).saveAsTextFile(args("out"))

    sc.bigQuerySelect(Query(s"""
      |SELECT full_name, created_date
      |FROM core.users_v1
      |WHERE created_date >= '$day' AND lifetime_orders >= ${minOrders + 1}
      |""".stripMargin))
      .map(_.toString)
      .saveAsTextFile(args("out") + "-names")

    sc.bigQuerySelect(Query(f"SELECT user_id, mrr_usd FROM core.users_v1 WHERE mrr_usd > $minOrders%d"))
      .saveAsTextFile(args("out") + "-mrr")

    sc.customInput(
      "ReadUsers",
      BigQueryIO
        .readTableRows()
        .fromQuery("SELECT user_id, last_login FROM `acme-prod.core.users_v1`")
        .usingStandardSql()
    ).saveAsTextFile(args("out") + "-logins")

    sc.run()
    ()
  }
}
