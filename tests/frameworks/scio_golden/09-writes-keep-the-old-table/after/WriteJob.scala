package com.acme.jobs

import com.google.api.services.bigquery.model.TableRow
import com.spotify.scio._
import com.spotify.scio.bigquery._
import org.apache.beam.sdk.io.gcp.bigquery.BigQueryIO
import org.apache.beam.sdk.io.gcp.bigquery.BigQueryIO.Write.WriteDisposition

// The job that builds users_v1: it reads other tables and writes the old table.
object WriteJob {
  val Snapshot = "acme-prod:core.users_v2"

  @BigQueryType.toTable
  case class UserOut(user_id: String, email: String)

  def main(cmdlineArgs: Array[String]): Unit = {
    val (sc, args) = ContextAndArgs(cmdlineArgs)
    val rows = sc.bigQueryTable(Table.Spec("acme-prod:raw.signups"))
    // TODO(data-migration users_v2): saveAsBigQueryTable writes the deprecated acme-prod.core.users_v1 named here; producers are out of scope, so it is left as is: retargeting it to acme-prod.core.users_v2 would write rows of the old shape into the replacement. See https://wiki.example.com/data/users-v2
    val output = Table.Spec("acme-prod:core.users_v1")
    rows.saveAsBigQueryTable(output)

    // TODO(data-migration users_v2): saveAsBigQueryTable writes the deprecated acme-prod.core.users_v1; producers are out of scope, so it is left as is: retargeting it to acme-prod.core.users_v2 would write rows of the old shape into the replacement. See https://wiki.example.com/data/users-v2
    rows.saveAsBigQueryTable(
      Table.Spec("acme-prod:core.users_v1"),
      writeDisposition = WriteDisposition.WRITE_TRUNCATE
    )
    // TODO(data-migration users_v2): saveAsTypedBigQueryTable writes the deprecated acme-prod.core.users_v1; producers are out of scope, so it is left as is: retargeting it to acme-prod.core.users_v2 would write rows of the old shape into the replacement. See https://wiki.example.com/data/users-v2
    rows
      .map(r => UserOut(r.getString("id"), r.getString("mail")))
      .saveAsTypedBigQueryTable(Table.Spec("acme-prod.core.users_v1"))
    // TODO(data-migration users_v2): BigQueryIO.writeTableRows...to writes the deprecated acme-prod.core.users_v1; producers are out of scope, so it is left as is: retargeting it to acme-prod.core.users_v2 would write rows of the old shape into the replacement. See https://wiki.example.com/data/users-v2
    rows.saveAsCustomOutput(
      "users",
      BigQueryIO.writeTableRows().to("acme-prod:core.users_v1").withoutValidation()
    )
    // TODO(data-migration users_v2): saveAsBigQueryTable writes the table Table.Spec(Snapshot) names, acme-prod.core.users_v1, which gaggle retargets to acme-prod.core.users_v2 for the reads using it: this write would then go to the replacement. Give the write its own value naming acme-prod.core.users_v1, or move the producer by hand. See https://wiki.example.com/data/users-v2
    rows.saveAsBigQueryTable(Table.Spec(Snapshot))
    sc.bigQueryTable(Table.Spec(Snapshot)).map(r => r.getString("email_address")).saveAsTextFile(args("e"))
    // TODO(data-migration users_v2): saveAsBigQueryTable writes the table --output names, which its JobTest sets to the deprecated acme-prod.core.users_v1; producers are out of scope, so the JobTest keeps it too. See https://wiki.example.com/data/users-v2
    rows.saveAsBigQueryTable(Table.Spec(args("output")))
    rows.saveAsBigQueryTable(Table.Spec("acme-prod:reporting.signups"))

    sc.run()
    ()
  }
}
