package com.acme.jobs

import com.google.api.services.bigquery.model.TableRow
import com.spotify.scio.bigquery._
import com.spotify.scio.testing._

// ExportJob lives in a shared library: gaggle sees only its test, never its reads.
class ExportJobTest extends PipelineSpec {
  // TODO(data-migration users_v2): the test row's plan is now subscription.plan: these fixture rows stand for acme-prod.core.users_v2, give them its shape (the job reads its table from --source, which gaggle does not follow: fix the job's reads of these fields too). See https://wiki.example.com/data/users-v2
  val fixture = Seq(("u1", "pro"), ("u2", "pro"))
    .map(t => TableRow("user_id" -> t._1, "plan" -> t._2))

  "ExportJob" should "export pro users" in {
    // TODO(data-migration users_v2): this mocked Storage read's selectedFields / rowRestriction must equal the job's own, which gaggle cannot see (the job reads its table from --source): both are left as they are; rewrite them together for acme-prod.core.users_v2. See https://wiki.example.com/data/users-v2
    // TODO(data-migration users_v2): --source now names acme-prod:core.users_v2, but no args("source") read in this repo shows gaggle where the job reads its rows: check by hand that the job reads the new columns of acme-prod:core.users_v2 (getters, typed fields, selectedFields, rowRestriction) and that every deployment passes it. See https://wiki.example.com/data/users-v2
    JobTest[ExportJob.type]
      .args("--source=acme-prod:core.users_v2")
      .input(BigQueryIO[TableRow]("acme-prod:core.users_v2", List("user_id", "plan"), Some("plan = 'pro'")), fixture)
      .run()
  }
}
