package com.acme.jobs

import com.spotify.scio._
import com.spotify.scio.avro.types.AvroType
import com.spotify.scio.bigquery._
import org.apache.avro.generic.GenericRecord
import org.apache.beam.sdk.io.gcp.bigquery.{BigQueryIO, SchemaAndRecord}
import org.apache.beam.sdk.transforms.SerializableFunction

// Rows read as Avro: GenericRecords from Scio and Beam reads, Avro case classes.
object AvroJob {
  val Users = "acme-prod:core.users_v2"

  // TODO(data-migration users_v2): UserAvro.email is now email_address; UserAvro.country is now geo.country_code. See https://wiki.example.com/data/users-v2
  @AvroType.fromSchema("""{
    "type": "record", "name": "UserAvro",
    "fields": [
      {"name": "user_id", "type": "string"},
      {"name": "email", "type": ["null", "string"]},
      {"name": "country", "type": ["null", "string"]}
    ]}""")
  class UserAvro

  // TODO(data-migration users_v2): UserFromFile gets its fields from an Avro schema file and is read from acme-prod.core.users_v2 after the migration: make the schema match the new columns. See https://wiki.example.com/data/users-v2
  @AvroType.fromPath("gs://acme-schemas/users.avsc")
  class UserFromFile

  case class Contact(userId: String, email: String)

  def toContact(sr: SchemaAndRecord): Contact = {
    val rec = sr.getRecord
    Contact(rec.get("user_id").toString, rec.get("email_address").toString + rec.get("labels"))
  }

  def main(cmdlineArgs: Array[String]): Unit = {
    val (sc, args) = ContextAndArgs(cmdlineArgs)

    // Scio: the table's GenericRecords, then converted to an Avro case class
    val records = sc.bigQueryTable(Table.Spec(Users), Format.GenericRecord)
    // TODO(data-migration users_v2): GenericRecord field "country" is now geo.country_code. See https://wiki.example.com/data/users-v2
    records
      .map(r => (r.get("email_address"), r.get("country"), r.get("user_id")))
      .saveAsTextFile(args("out") + "-records")
    // TODO(data-migration users_v2): UserAvro.country is now geo.country_code. See https://wiki.example.com/data/users-v2
    records
      .map(AvroType[UserAvro].fromGenericRecord)
      .map(u => u.country.getOrElse("??"))
      .saveAsTextFile(args("out") + "-avro")
    // TODO(data-migration users_v2): UserFromFile.plan is now subscription.plan. See https://wiki.example.com/data/users-v2
    sc.typedBigQueryTable[UserFromFile](Table.Spec(Users))
      .map(u => u.plan)
      .saveAsTextFile(args("out") + "-file")

    // Beam: a parse function (a lambda, a SerializableFunction, a def), and readTableRows
    // TODO(data-migration users_v2): GenericRecord field "country" is now geo.country_code. See https://wiki.example.com/data/users-v2
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
          // TODO(data-migration users_v2): GenericRecord field "plan" is now subscription.plan. See https://wiki.example.com/data/users-v2
          record.get("display_name") + "/" + record.get("plan")
        }
      }).from(Table.Spec(Users))
    ).saveAsTextFile(args("out") + "-plans")
    sc.customInput("Contacts", BigQueryIO.read(toContact).from(Users))
      .saveAsTextFile(args("out") + "-contacts")
    // TODO(data-migration users_v2): TableRow field "is_active" is now status = 'ACTIVE'. See https://wiki.example.com/data/users-v2
    sc.customInput("Rows", BigQueryIO.readTableRows().from(Users))
      .map(row => row.getString("last_seen_at") + row.getString("is_active"))
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
