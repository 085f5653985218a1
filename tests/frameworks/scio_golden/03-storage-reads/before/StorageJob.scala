package com.acme.jobs

import com.spotify.scio._
import com.spotify.scio.bigquery._
import com.spotify.scio.bigquery.types.BigQueryType

// Storage API reads: selectedFields and rowRestriction name columns of the read table.
object StorageJob {
  @BigQueryType.fromStorage(
    "acme-prod:core.users_v1",
    selectedFields = List("user_id", "country", "email", "device.os"),
    rowRestriction = "country = 'SE' AND lifetime_orders > 3"
  )
  class Swedes

  @BigQueryType.fromStorage(
    "acme-prod:core.users_v1",
    selectedFields = List("user_id", "is_active", "age_bucket"),
    rowRestriction = "is_active AND age_bucket = '18-24'"
  )
  class Young

  @BigQueryType.fromStorage(
    "acme-prod:sales.orders",
    selectedFields = List("order_id", "country"),
    rowRestriction = "country = 'SE'"
  )
  class SwedishOrders

  def main(cmdlineArgs: Array[String]): Unit = {
    val (sc, args) = ContextAndArgs(cmdlineArgs)
    sc.typedBigQuery[Swedes]().map(s => (s.user_id, s.email, s.country)).saveAsTextFile(args("a"))
    sc.typedBigQuery[Young]().map(y => y.user_id).saveAsTextFile(args("b"))
    sc.typedBigQuery[SwedishOrders]().map(o => o.country).saveAsTextFile(args("c"))

    sc.bigQueryStorage(
      Table.Spec("acme-prod:core.users_v1"),
      selectedFields = List("user_id", "plan", "tags"),
      rowRestriction = "plan = 'pro' AND region = 'EMEA'"
    ).map(row => row.getString("plan")).saveAsTextFile(args("d"))

    sc.run()
    ()
  }
}
