package com.acme.jobs

import com.spotify.scio.bigquery._
import com.spotify.scio.testing._

class WriteJobTest extends PipelineSpec {
  "WriteJob" should "write users" in {
    JobTest[WriteJob.type]
      .args("--output=acme-prod:core.users_v1")
      .input(BigQueryIO[TableRow]("acme-prod:raw.signups"), Seq(TableRow("id" -> "1")))
      .output(BigQueryIO[TableRow]("acme-prod:core.users_v1")) { rows =>
        rows should haveSize(1)
      }
      .run()
  }
}
