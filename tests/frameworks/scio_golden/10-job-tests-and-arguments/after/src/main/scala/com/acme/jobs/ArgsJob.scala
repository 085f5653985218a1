package com.acme.jobs

import com.spotify.scio._
import com.spotify.scio.bigquery._

// The table is an argument with no default: only the JobTest says which table it is.
object ArgsJob {
  def main(cmdlineArgs: Array[String]): Unit = {
    val (sc, args) = ContextAndArgs(cmdlineArgs)
    // TODO(data-migration users_v2): TableRow field "country" is now geo.country_code. See https://wiki.example.com/data/users-v2
    sc.bigQueryTable(Table.Spec(args("input")))
      .filter(r => r.getString("country") == "SE")
      .map(r => r.getString("email_address"))
      .saveAsTextFile(args("output"))
    // TODO(data-migration users_v2): this job reads its table from --input, which its JobTest (or its own default arguments) sets to acme-prod.core.users_v1, moved to acme-prod.core.users_v2 by gaggle: the reads below now follow acme-prod.core.users_v2's columns, so every deployment of this job must pass --input=acme-prod.core.users_v2. See https://wiki.example.com/data/users-v2
    sc.bigQueryStorage(
        Table.Spec(args("input")),
        selectedFields = List("user_id", "email_address"),
        rowRestriction = "geo.country_code = 'SE'"
      )
      .map(r => r.getString("user_id"))
      .saveAsTextFile(args("output") + "-ids")
    sc.run()
    ()
  }
}
