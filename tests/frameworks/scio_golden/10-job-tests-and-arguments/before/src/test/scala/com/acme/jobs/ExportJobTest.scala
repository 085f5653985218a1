package com.acme.jobs

import com.google.api.services.bigquery.model.TableRow
import com.spotify.scio.bigquery._
import com.spotify.scio.testing._

// ExportJob lives in a shared library: gaggle sees only its test, never its reads.
class ExportJobTest extends PipelineSpec {
  val fixture = Seq(("u1", "pro"), ("u2", "pro"))
    .map(t => TableRow("user_id" -> t._1, "plan" -> t._2))

  "ExportJob" should "export pro users" in {
    JobTest[ExportJob.type]
      .args("--source=acme-prod:core.users_v1")
      .input(BigQueryIO[TableRow]("acme-prod:core.users_v1", List("user_id", "plan"), Some("plan = 'pro'")), fixture)
      .run()
  }
}
