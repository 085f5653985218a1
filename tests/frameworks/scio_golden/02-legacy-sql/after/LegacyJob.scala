package com.acme.jobs

import com.spotify.scio._
import com.spotify.scio.bigquery._
import com.spotify.scio.bigquery.types.BigQueryType

// Legacy SQL: the table is retargeted in its own [project:dataset.table] form.
object LegacyJob {
  // plain renames in a one-table query: exact, rewritten (output names kept with AS)
  @BigQueryType.fromQuery(
    "#legacySQL\nSELECT user_id, email_address AS email, display_name AS full_name FROM [acme-prod:core.users_v2] WHERE last_seen_at IS NOT NULL"
  )
  class Contact

  // moved and computed columns: the table is retargeted, the columns are left to a human
  // TODO(data-migration users_v2): legacy SQL: country is now geo.country_code; is_active is now status = 'ACTIVE'; rewrite these columns by hand and keep each output name with AS. See https://wiki.example.com/data/users-v2
  @BigQueryType.fromQuery("SELECT country, is_active FROM [acme-prod:core.users_v2] WHERE is_active")
  class Row

  @BigQueryType.fromStorage(
    "acme-prod:core.users_v2",
    selectedFields = List("user_id", "email_address")
  )
  class Stored

  def main(cmdlineArgs: Array[String]): Unit = {
    val (sc, args) = ContextAndArgs(cmdlineArgs)
    // r is a Row, s a Stored: each access is put on its own class
    // TODO(data-migration users_v2): Row.country is now geo.country_code. See https://wiki.example.com/data/users-v2
    sc.typedBigQuery[Row]().map(r => r.country.getOrElse("??")).saveAsTextFile(args("out"))
    sc.typedBigQuery[Stored]().map(s => s.email_address.getOrElse("")).saveAsTextFile(args("out"))
    sc.typedBigQuery[Contact]().map(c => c.email.getOrElse("")).saveAsTextFile(args("out"))

    // a legacy join: gaggle cannot tell which side a column belongs to
    // TODO(data-migration users_v2): legacy SQL: tags is now labels; rewrite these columns by hand and keep each output name with AS. See https://wiki.example.com/data/users-v2
    sc.bigQuerySelect(Query("""#legacySQL
      SELECT u.user_id, u.tags, o.amount_usd
      FROM [acme-prod:core.users_v2] AS u
      JOIN [acme-prod:sales.orders] AS o ON u.user_id = o.user_id"""))
      .saveAsTextFile(args("out") + "-join")

    // legacy ORDER BY names output columns: renaming there would not be exact
    // TODO(data-migration users_v2): legacy SQL: last_login is now last_seen_at; rewrite these columns by hand and keep each output name with AS. See https://wiki.example.com/data/users-v2
    sc.bigQuerySelect(Query("SELECT user_id, last_login FROM [acme-prod:core.users_v2] ORDER BY last_login"))
      .saveAsTextFile(args("out") + "-recent")

    // another table of the same dataset is a bystander
    sc.bigQuerySelect(Query("SELECT user_id, email FROM [acme-prod:core.users_archive]"))
      .saveAsTextFile(args("out") + "-archive")

    sc.run()
    ()
  }
}
