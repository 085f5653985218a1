package com.acme.jobs

import com.spotify.scio.bigquery._
import com.spotify.scio.testing._

class DefaultInputJobTest extends PipelineSpec {
  "DefaultInputJob" should "work" in {
    JobTest[DefaultInputJob.type]
      .args("--input=acme-prod:core.users_v1", "--output=out")
      .input(BigQueryIO("acme-prod:core.users_v1"), Seq.empty)
      .input(BigQueryIO("acme-prod:core.users_v1", List("user_id", "plan"), Some("plan IS NOT NULL")), Seq.empty)
      .run()
  }
}
