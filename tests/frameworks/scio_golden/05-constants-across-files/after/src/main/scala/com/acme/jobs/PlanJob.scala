package com.acme.jobs

import com.acme.shared.Tables._
import com.spotify.scio._
import com.spotify.scio.bigquery._

object PlanJob {
  def main(cmdlineArgs: Array[String]): Unit = {
    val (sc, args) = ContextAndArgs(cmdlineArgs)
    val users = sc.bigQueryStorage(
      Table.Spec(Users),
      selectedFields = List("user_id", "subscription.plan", "last_seen_at"),
      rowRestriction = "subscription.plan = 'pro'"
    )
    // TODO(data-migration users_v2): TableRow field "plan" is now subscription.plan. See https://wiki.example.com/data/users-v2
    users
      .filter(r => r.getString("last_seen_at") != null)
      .map(r => r.getString("plan"))
      .saveAsTextFile(args("out"))
    sc.bigQueryTable(Table.Spec(Archive))
      .map(r => r.getString("plan"))
      .saveAsTextFile(args("out") + "-archive")
    sc.run()
    ()
  }
}
