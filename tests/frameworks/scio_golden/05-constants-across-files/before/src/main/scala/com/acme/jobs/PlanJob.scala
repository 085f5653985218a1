package com.acme.jobs

import com.acme.shared.Tables._
import com.spotify.scio._
import com.spotify.scio.bigquery._

object PlanJob {
  def main(cmdlineArgs: Array[String]): Unit = {
    val (sc, args) = ContextAndArgs(cmdlineArgs)
    val users = sc.bigQueryStorage(
      Table.Spec(Users),
      selectedFields = List("user_id", "plan", "last_login"),
      rowRestriction = "plan = 'pro'"
    )
    users
      .filter(r => r.getString("last_login") != null)
      .map(r => r.getString("plan"))
      .saveAsTextFile(args("out"))
    sc.bigQueryTable(Table.Spec(Archive))
      .map(r => r.getString("plan"))
      .saveAsTextFile(args("out") + "-archive")
    sc.run()
    ()
  }
}
