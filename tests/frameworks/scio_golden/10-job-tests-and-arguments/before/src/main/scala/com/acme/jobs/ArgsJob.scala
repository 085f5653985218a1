package com.acme.jobs

import com.spotify.scio._
import com.spotify.scio.bigquery._

// The table is an argument with no default: only the JobTest says which table it is.
object ArgsJob {
  def main(cmdlineArgs: Array[String]): Unit = {
    val (sc, args) = ContextAndArgs(cmdlineArgs)
    sc.bigQueryTable(Table.Spec(args("input")))
      .filter(r => r.getString("country") == "SE")
      .map(r => r.getString("email"))
      .saveAsTextFile(args("output"))
    sc.bigQueryStorage(
        Table.Spec(args("input")),
        selectedFields = List("user_id", "email"),
        rowRestriction = "country = 'SE'"
      )
      .map(r => r.getString("user_id"))
      .saveAsTextFile(args("output") + "-ids")
    sc.run()
    ()
  }
}
