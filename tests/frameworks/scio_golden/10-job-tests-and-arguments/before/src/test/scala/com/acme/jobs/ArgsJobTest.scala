package com.acme.jobs

import com.google.api.services.bigquery.model.TableRow
import com.spotify.scio.bigquery._
import com.spotify.scio.testing._

class ArgsJobTest extends PipelineSpec {
  "ArgsJob" should "keep Swedish users" in {
    JobTest[ArgsJob.type]
      .args("--input=acme-prod:core.users_v1", "--output=out")
      .input(
        BigQueryIO[TableRow]("acme-prod:core.users_v1"),
        Seq(TableRow("user_id" -> "u1", "email" -> "a@example.com", "country" -> "SE"))
      )
      .input(
        BigQueryIO[TableRow]("acme-prod:core.users_v1", List("user_id", "email"), Some("country = 'SE'")),
        Seq(new TableRow().set("user_id", "u1").set("email", "a@example.com"))
      )
      .output(TextIO("out"))(_ should containSingleValue("a@example.com"))
      .run()
  }
}
