package com.acme.jobs

import com.google.api.services.bigquery.model.TableRow
import com.spotify.scio._
import com.spotify.scio.bigquery._
import org.apache.beam.sdk.io.gcp.bigquery.BigQueryIO
import org.apache.beam.sdk.io.gcp.bigquery.BigQueryIO.Write.WriteDisposition

// The job that builds users_v1: it reads other tables and writes the old table.
object WriteJob {
  val Snapshot = "acme-prod:core.users_v1"

  @BigQueryType.toTable
  case class UserOut(user_id: String, email: String)

  def main(cmdlineArgs: Array[String]): Unit = {
    val (sc, args) = ContextAndArgs(cmdlineArgs)
    val rows = sc.bigQueryTable(Table.Spec("acme-prod:raw.signups"))
    val output = Table.Spec("acme-prod:core.users_v1")
    rows.saveAsBigQueryTable(output)

    rows.saveAsBigQueryTable(
      Table.Spec("acme-prod:core.users_v1"),
      writeDisposition = WriteDisposition.WRITE_TRUNCATE
    )
    rows
      .map(r => UserOut(r.getString("id"), r.getString("mail")))
      .saveAsTypedBigQueryTable(Table.Spec("acme-prod.core.users_v1"))
    rows.saveAsCustomOutput(
      "users",
      BigQueryIO.writeTableRows().to("acme-prod:core.users_v1").withoutValidation()
    )
    rows.saveAsBigQueryTable(Table.Spec(Snapshot))
    sc.bigQueryTable(Table.Spec(Snapshot)).map(r => r.getString("email")).saveAsTextFile(args("e"))
    rows.saveAsBigQueryTable(Table.Spec(args("output")))
    rows.saveAsBigQueryTable(Table.Spec("acme-prod:reporting.signups"))

    sc.run()
    ()
  }
}
