package com.acme.jobs

import com.spotify.scio.bigquery._
import com.spotify.scio.testing._

class WriteJobTest extends PipelineSpec {
  "WriteJob" should "write users" in {
    // TODO(data-migration users_v2): the JobTest's output writes the deprecated acme-prod.core.users_v1; producers are out of scope, so it is left as is: retargeting it to acme-prod.core.users_v2 would write rows of the old shape into the replacement. See https://wiki.example.com/data/users-v2
    // TODO(data-migration users_v2): --output names the table the job writes, the deprecated acme-prod:core.users_v1; producers are out of scope, so it is left as is. See https://wiki.example.com/data/users-v2
    JobTest[WriteJob.type]
      .args("--output=acme-prod:core.users_v1")
      .input(BigQueryIO[TableRow]("acme-prod:raw.signups"), Seq(TableRow("id" -> "1")))
      .output(BigQueryIO[TableRow]("acme-prod:core.users_v1")) { rows =>
        rows should haveSize(1)
      }
      .run()
  }
}
