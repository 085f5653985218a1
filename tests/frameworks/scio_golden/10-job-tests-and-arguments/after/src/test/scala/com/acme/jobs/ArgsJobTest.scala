package com.acme.jobs

import com.google.api.services.bigquery.model.TableRow
import com.spotify.scio.bigquery._
import com.spotify.scio.testing._

class ArgsJobTest extends PipelineSpec {
  "ArgsJob" should "keep Swedish users" in {
    // TODO(data-migration users_v2): the test row's country is now geo.country_code: these fixture rows stand for acme-prod.core.users_v2, give them its shape (the job reads acme-prod.core.users_v2 after the migration). See https://wiki.example.com/data/users-v2
    JobTest[ArgsJob.type]
      .args("--input=acme-prod:core.users_v2", "--output=out")
      .input(
        BigQueryIO[TableRow]("acme-prod:core.users_v2"),
        Seq(TableRow("user_id" -> "u1", "email_address" -> "a@example.com", "country" -> "SE"))
      )
      .input(
        BigQueryIO[TableRow]("acme-prod:core.users_v2", List("user_id", "email_address"), Some("geo.country_code = 'SE'")),
        Seq(new TableRow().set("user_id", "u1").set("email_address", "a@example.com"))
      )
      .output(TextIO("out"))(_ should containSingleValue("a@example.com"))
      .run()
  }
}
