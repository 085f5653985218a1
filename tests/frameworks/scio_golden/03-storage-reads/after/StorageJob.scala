package com.acme.jobs

import com.spotify.scio._
import com.spotify.scio.bigquery._
import com.spotify.scio.bigquery.types.BigQueryType

// Storage API reads: selectedFields and rowRestriction name columns of the read table.
object StorageJob {
  @BigQueryType.fromStorage(
    "acme-prod:core.users_v2",
    selectedFields = List("user_id", "geo.country_code", "email_address", "primary_device.os_name"),
    rowRestriction = "geo.country_code = 'SE' AND lifetime_orders > 3"
  )
  class Swedes

  // TODO(data-migration users_v2): selectedFields "is_active" is now status = 'ACTIVE': select the columns it reads and compute it in the pipeline. See https://wiki.example.com/data/users-v2
  // TODO(data-migration users_v2): selectedFields "age_bucket" has no automatic mapping: replaced by birth_year; bucket edges are a per-team decision. See https://wiki.example.com/data/users-v2
  // TODO(data-migration users_v2): rowRestriction: age_bucket has no automatic mapping: replaced by birth_year; bucket edges are a per-team decision. See https://wiki.example.com/data/users-v2
  @BigQueryType.fromStorage(
    "acme-prod:core.users_v2",
    selectedFields = List("user_id", "is_active", "age_bucket"),
    rowRestriction = "(status = 'ACTIVE') AND age_bucket = '18-24'"
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
    // TODO(data-migration users_v2): Swedes.country is now geo.country_code. See https://wiki.example.com/data/users-v2
    sc.typedBigQuery[Swedes]().map(s => (s.user_id, s.email_address, s.country)).saveAsTextFile(args("a"))
    sc.typedBigQuery[Young]().map(y => y.user_id).saveAsTextFile(args("b"))
    sc.typedBigQuery[SwedishOrders]().map(o => o.country).saveAsTextFile(args("c"))

    // TODO(data-migration users_v2): TableRow field "plan" is now subscription.plan. See https://wiki.example.com/data/users-v2
    sc.bigQueryStorage(
      Table.Spec("acme-prod:core.users_v2"),
      selectedFields = List("user_id", "subscription.plan", "labels"),
      rowRestriction = "subscription.plan = 'pro' AND geo.region = 'EMEA'"
    ).map(row => row.getString("plan")).saveAsTextFile(args("d"))

    sc.run()
    ()
  }
}
