package com.acme.jobs

import com.spotify.scio._
import com.spotify.scio.bigquery._

// The input table is an argument whose default is a shared constant; its own Row class
// shares a name with TypedJob.Row but is a plain case class read through the Storage API.
object DefaultInputJob {
  // TODO(data-migration users_v2): Row.plan is now subscription.plan. See https://wiki.example.com/data/users-v2
  case class Row(user_id: String, plan: Option[String])

  def main(cmdlineArgs: Array[String]): Unit = {
    val (sc, args) = ContextAndArgs(cmdlineArgs)
    // TODO(data-migration users_v2): this job reads its table from --input, which its JobTest (or its own default arguments) sets to acme-prod.core.users_v1, moved to acme-prod.core.users_v2 by gaggle: the reads below now follow acme-prod.core.users_v2's columns, so every deployment of this job must pass --input=acme-prod.core.users_v2. See https://wiki.example.com/data/users-v2
    val table = Table.Spec(args.getOrElse("input", Defaults.USERS_TABLE))
    // TODO(data-migration users_v2): TableRow field "plan" is now subscription.plan. See https://wiki.example.com/data/users-v2
    sc.bigQueryTable(table)
      .map(row => (row.getString("plan"), row.getLong("lifetime_orders")))
      .saveAsTextFile(args("output"))
    // TODO(data-migration users_v2): Row.plan is now subscription.plan. See https://wiki.example.com/data/users-v2
    sc.typedBigQueryStorageMagnolify[Row](
        table,
        selectedFields = List("user_id", "subscription.plan"),
        rowRestriction = "subscription.plan IS NOT NULL"
      )
      .map(_.plan)
      .saveAsTextFile(args("output") + "-plans")
    sc.run()
    ()
  }
}
