package com.acme.jobs

import com.spotify.scio._
import com.spotify.scio.avro.types.AvroType
import com.spotify.scio.bigquery._
import org.apache.avro.generic.GenericRecord
import org.apache.beam.sdk.io.gcp.bigquery.{BigQueryIO, SchemaAndRecord}
import org.apache.beam.sdk.transforms.SerializableFunction

// Rows read as Avro: GenericRecords from Scio and Beam reads, Avro case classes.
object AvroJob {
  val Users = "acme-prod:core.users_v1"

  @AvroType.fromSchema("""{
    "type": "record", "name": "UserAvro",
    "fields": [
      {"name": "user_id", "type": "string"},
      {"name": "email", "type": ["null", "string"]},
      {"name": "country", "type": ["null", "string"]}
    ]}""")
  class UserAvro

  @AvroType.fromPath("gs://acme-schemas/users.avsc")
  class UserFromFile

  case class Contact(userId: String, email: String)

  def toContact(sr: SchemaAndRecord): Contact = {
    val rec = sr.getRecord
    Contact(rec.get("user_id").toString, rec.get("email").toString + rec.get("tags"))
  }

  def main(cmdlineArgs: Array[String]): Unit = {
    val (sc, args) = ContextAndArgs(cmdlineArgs)

    // Scio: the table's GenericRecords, then converted to an Avro case class
    val records = sc.bigQueryTable(Table.Spec(Users), Format.GenericRecord)
    records
      .map(r => (r.get("email"), r.get("country"), r.get("user_id")))
      .saveAsTextFile(args("out") + "-records")
    records
      .map(AvroType[UserAvro].fromGenericRecord)
      .map(u => u.country.getOrElse("??"))
      .saveAsTextFile(args("out") + "-avro")
    sc.typedBigQueryTable[UserFromFile](Table.Spec(Users))
      .map(u => u.plan)
      .saveAsTextFile(args("out") + "-file")

    // Beam: a parse function (a lambda, a SerializableFunction, a def), and readTableRows
    sc.customInput(
      "Countries",
      BigQueryIO
        .read((sr: SchemaAndRecord) => sr.getRecord.get("country").toString)
        .from(Users)
    ).saveAsTextFile(args("out") + "-countries")
    sc.customInput(
      "Plans",
      BigQueryIO.read(new SerializableFunction[SchemaAndRecord, String] {
        override def apply(input: SchemaAndRecord): String = {
          val record: GenericRecord = input.getRecord()
          record.get("full_name") + "/" + record.get("plan")
        }
      }).from(Table.Spec(Users))
    ).saveAsTextFile(args("out") + "-plans")
    sc.customInput("Contacts", BigQueryIO.read(toContact).from(Users))
      .saveAsTextFile(args("out") + "-contacts")
    sc.customInput("Rows", BigQueryIO.readTableRows().from(Users))
      .map(row => row.getString("last_login") + row.getString("is_active"))
      .saveAsTextFile(args("out") + "-rows")

    // bystanders: records of another table
    sc.customInput(
      "Orders",
      BigQueryIO.read((sr: SchemaAndRecord) => sr.getRecord.get("country").toString)
        .from("acme-prod:sales.orders")
    ).saveAsTextFile(args("out") + "-orders")
    sc.bigQueryTable(Table.Spec("acme-prod:sales.orders"), Format.GenericRecord)
      .map(r => r.get("email"))
      .saveAsTextFile(args("out") + "-order-records")

    sc.run()
    ()
  }
}
