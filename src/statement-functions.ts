/**
 * Data tables for the statement classifier (src/statement.ts): which words may stand before "(" in a statement that
 * is still a plain read. Everything here is an allow-list: a name that is missing only costs a retry, never a write.
 *
 * How the servers resolve `name(`: MySQL 8.4 and MariaDB 10.11 parse an unqualified call through the rule
 * `IDENT_sys '(' …`, whose name is a plain identifier token, never a keyword. The name is looked up as a built-in
 * (native) function first, then as a loadable (UDF) function, then as a stored function of the current database.
 * So an unqualified name that IS a built-in always calls the built-in; anything else may be user code. Two traps:
 * - Function keywords (COUNT, SUM, NOW, SUBSTRING, CAST, TRIM, …) are keywords only when "(" follows with nothing in
 *   between. `SUM (x)` or `SUM/* c *\/(x)` (and, without IGNORE_SPACE, any space) lexes `SUM` as a plain identifier,
 *   which then resolves to a stored function `sum` if one exists. So the allow-list applies only when "(" is glued
 *   to the name; with whitespace or a comment in between the call counts as unknown.
 * - A qualified `db.f(` or quoted `` `f`( `` name is never a built-in: always unknown.
 */

/**
 * Words reserved in both MySQL 8.4 and MariaDB 10.11 that may stand before "(" without being a call of user code:
 * grammar keywords (IN (…), EXISTS (…), USING (…), VALUES (…)), reserved type names (CAST(x AS DECIMAL(10, 2)),
 * CONVERT(x, CHAR(3))) and reserved keyword-named built-ins whose every form is side-effect free (IF, LEFT, REPLACE,
 * INSERT, MOD, …). A reserved word is always a keyword token, so it can never reach the function-name rule; whitespace
 * or comments before "(" are therefore harmless for these. Non-reserved keywords (OVER, ROW, COALESCE, DATE, ANY,
 * AGAINST, WINDOW, COLUMNS, …) are deliberately not here: a server that accepts a non-reserved keyword as a function
 * name would call a stored function of that name. They are accepted only where the classifier knows the position is
 * not a function name (after ")" or a string, or as a glued built-in call).
 */
export const NON_CALL_KEYWORDS: ReadonlySet<string> = new Set([
  // Query structure and operators.
  'ALL', 'AND', 'AS', 'ASC', 'BETWEEN', 'BY', 'CASE', 'CHECK', 'CROSS', 'DESC', 'DISTINCT', 'DISTINCTROW', 'DIV',
  'ELSE', 'EXCEPT', 'EXISTS', 'FOR', 'FORCE', 'FOREIGN', 'FROM', 'GROUP', 'HAVING', 'IGNORE', 'IN', 'INDEX', 'INNER',
  'INTERSECT', 'INTO', 'IS', 'JOIN', 'KEY', 'KEYS', 'LIKE', 'LIMIT', 'NATURAL', 'NOT', 'ON', 'OR', 'ORDER', 'OUTER',
  'PARTITION', 'PRIMARY', 'RANGE', 'RECURSIVE', 'REFERENCES', 'REGEXP', 'RLIKE', 'ROWS', 'SELECT', 'SET',
  'STRAIGHT_JOIN', 'THEN', 'UNION', 'UNIQUE', 'USE', 'USING', 'VALUES', 'WHEN', 'WHERE', 'WITH', 'XOR',
  // Reserved type names.
  'BIGINT', 'BINARY', 'CHAR', 'CHARACTER', 'DEC', 'DECIMAL', 'DOUBLE', 'FLOAT', 'INT', 'INTEGER', 'MEDIUMINT',
  'NUMERIC', 'REAL', 'SMALLINT', 'TINYINT', 'UNSIGNED', 'VARBINARY', 'VARCHAR',
  // Reserved keyword-named built-ins, all side-effect free.
  'CONVERT', 'DEFAULT', 'IF', 'INSERT', 'INTERVAL', 'LEFT', 'MATCH', 'MOD', 'REPEAT', 'REPLACE', 'RIGHT',
]);

/**
 * Built-in functions of MySQL 8.4 and MariaDB 10.11 with no side effect beyond their result (no lock, no sequence,
 * no session or server state a later statement could observe, no file written), accepted only as `NAME(` with "("
 * glued to the unqualified, unquoted name.
 *
 * Deliberately absent (each makes a statement "not a plain read" and "not singleAtomic"):
 * - User-level locks: GET_LOCK, RELEASE_LOCK, RELEASE_ALL_LOCKS (IS_FREE_LOCK and IS_USED_LOCK only read).
 * - MySQL locking-service functions SERVICE_GET_READ_LOCKS, SERVICE_GET_WRITE_LOCKS, SERVICE_RELEASE_LOCKS, and the
 *   version-tokens plugin's VERSION_TOKENS_LOCK_SHARED / _EXCLUSIVE / VERSION_TOKENS_UNLOCK (loadable functions).
 * - MariaDB sequences: NEXTVAL(s), SETVAL(s, …), and the forms without "(" that the classifier matches separately:
 *   NEXT VALUE FOR s, and s.NEXTVAL under sql_mode=ORACLE. LASTVAL(s) / PREVIOUS VALUE FOR s / s.CURRVAL only read.
 * - LAST_INSERT_ID(expr), which sets the session value (LAST_INSERT_ID() without an argument is handled in
 *   statement.ts as a read).
 * - UUID_SHORT(): advances a server-wide counter.
 * - Replication waits (MASTER_POS_WAIT, SOURCE_POS_WAIT, MASTER_GTID_WAIT, WAIT_FOR_EXECUTED_GTID_SET,
 *   WAIT_UNTIL_SQL_THREAD_AFTER_GTIDS, WSREP_SYNC_WAIT_UPTO_GTID) and LOAD_FILE: no write, but not needed in reads an
 *   application retries; left out rather than argued about.
 * - Every loadable function (keyring_*, audit_log_*, mysql_firewall_*, asymmetric_*, …), every stored function and
 *   every plugin function: the classifier cannot know what they do.
 * - PROCEDURE ANALYSE(), which is not a function call but looks like one: not a plain read either way.
 *
 * Decided not to matter: SLEEP and BENCHMARK only take time (their arguments are checked like any expression); RAND,
 * UUID and SYS_GUID have no state a retry could double; IS_FREE_LOCK/IS_USED_LOCK read.
 */
export const SIDE_EFFECT_FREE_FUNCTIONS: ReadonlySet<string> = new Set([
  // Aggregates and window functions.
  'ANY_VALUE', 'AVG', 'BIT_AND', 'BIT_OR', 'BIT_XOR', 'COUNT', 'CUME_DIST', 'DENSE_RANK', 'FIRST_VALUE',
  'GROUP_CONCAT', 'GROUPING', 'JSON_ARRAYAGG', 'JSON_OBJECTAGG', 'LAG', 'LAST_VALUE', 'LEAD', 'MAX', 'MEDIAN', 'MIN',
  'NTH_VALUE', 'NTILE', 'PERCENT_RANK', 'PERCENTILE_CONT', 'PERCENTILE_DISC', 'RANK', 'ROW_NUMBER', 'STD', 'STDDEV',
  'STDDEV_POP', 'STDDEV_SAMP', 'SUM', 'VAR_POP', 'VAR_SAMP', 'VARIANCE',
  // Conditionals and comparison.
  'COALESCE', 'GREATEST', 'IF', 'IFNULL', 'INTERVAL', 'ISNULL', 'LEAST', 'NULLIF', 'NVL', 'NVL2', 'STRCMP',
  // Strings.
  'ASCII', 'BIN', 'BIT_COUNT', 'BIT_LENGTH', 'CHAR', 'CHAR_LENGTH', 'CHARACTER_LENGTH', 'CHR', 'CONCAT', 'CONCAT_WS',
  'ELT', 'EXPORT_SET', 'FIELD', 'FIND_IN_SET', 'FORMAT', 'FROM_BASE64', 'HEX', 'INSERT', 'INSTR', 'LCASE', 'LEFT',
  'LENGTH', 'LENGTHB', 'LOCATE', 'LOWER', 'LPAD', 'LTRIM', 'MAKE_SET', 'MID', 'NATURAL_SORT_KEY', 'OCT',
  'OCTET_LENGTH', 'ORD', 'POSITION', 'QUOTE', 'REGEXP_INSTR', 'REGEXP_LIKE', 'REGEXP_REPLACE', 'REGEXP_SUBSTR',
  'REPEAT', 'REPLACE', 'REVERSE', 'RIGHT', 'RPAD', 'RTRIM', 'SFORMAT', 'SOUNDEX', 'SPACE', 'SUBSTR', 'SUBSTRING',
  'SUBSTRING_INDEX', 'TO_BASE64', 'TO_CHAR', 'TRIM', 'UCASE', 'UNHEX', 'UPPER', 'WEIGHT_STRING',
  // Casts, character sets and collations.
  'CAST', 'CHARSET', 'COERCIBILITY', 'COLLATION', 'CONVERT',
  // Numbers.
  'ABS', 'ACOS', 'ASIN', 'ATAN', 'ATAN2', 'CEIL', 'CEILING', 'CONV', 'COS', 'COT', 'CRC32', 'CRC32C', 'DEGREES', 'EXP',
  'FLOOR', 'LN', 'LOG', 'LOG10', 'LOG2', 'MOD', 'PI', 'POW', 'POWER', 'RADIANS', 'RAND', 'ROUND', 'SIGN', 'SIN', 'SQRT',
  'TAN', 'TRUNCATE',
  // Dates and times.
  'ADD_MONTHS', 'ADDDATE', 'ADDTIME', 'CONVERT_TZ', 'CURDATE', 'CURRENT_DATE', 'CURRENT_TIME', 'CURRENT_TIMESTAMP',
  'CURTIME', 'DATE', 'DATE_ADD', 'DATE_FORMAT', 'DATE_SUB', 'DATEDIFF', 'DAY', 'DAYNAME', 'DAYOFMONTH', 'DAYOFWEEK',
  'DAYOFYEAR', 'EXTRACT', 'FROM_DAYS', 'FROM_UNIXTIME', 'GET_FORMAT', 'HOUR', 'LAST_DAY', 'LOCALTIME',
  'LOCALTIMESTAMP', 'MAKEDATE', 'MAKETIME', 'MICROSECOND', 'MINUTE', 'MONTH', 'MONTHNAME', 'NOW', 'PERIOD_ADD',
  'PERIOD_DIFF', 'QUARTER', 'SEC_TO_TIME', 'SECOND', 'STR_TO_DATE', 'SUBDATE', 'SUBTIME', 'SYSDATE', 'TIME',
  'TIME_FORMAT', 'TIME_TO_SEC', 'TIMEDIFF', 'TIMESTAMP', 'TIMESTAMPADD', 'TIMESTAMPDIFF', 'TO_DAYS', 'TO_SECONDS',
  'UNIX_TIMESTAMP', 'UTC_DATE', 'UTC_TIME', 'UTC_TIMESTAMP', 'WEEK', 'WEEKDAY', 'WEEKOFYEAR', 'YEAR', 'YEARWEEK',
  // JSON.
  'JSON_ARRAY', 'JSON_ARRAY_APPEND', 'JSON_ARRAY_INSERT', 'JSON_ARRAY_INTERSECT', 'JSON_COMPACT', 'JSON_CONTAINS',
  'JSON_CONTAINS_PATH', 'JSON_DEPTH', 'JSON_DETAILED', 'JSON_EQUALS', 'JSON_EXISTS', 'JSON_EXTRACT', 'JSON_INSERT',
  'JSON_KEYS', 'JSON_LENGTH', 'JSON_LOOSE', 'JSON_MERGE', 'JSON_MERGE_PATCH', 'JSON_MERGE_PRESERVE', 'JSON_NORMALIZE',
  'JSON_OBJECT', 'JSON_OVERLAPS', 'JSON_PRETTY', 'JSON_QUERY', 'JSON_QUOTE', 'JSON_REMOVE', 'JSON_REPLACE',
  'JSON_SCHEMA_VALID', 'JSON_SCHEMA_VALIDATION_REPORT', 'JSON_SEARCH', 'JSON_SET', 'JSON_STORAGE_FREE',
  'JSON_STORAGE_SIZE', 'JSON_TABLE', 'JSON_TYPE', 'JSON_UNQUOTE', 'JSON_VALID', 'JSON_VALUE',
  // Hashing, encoding, compression, network addresses, UUIDs.
  'AES_DECRYPT', 'AES_ENCRYPT', 'BIN_TO_UUID', 'COMPRESS', 'INET_ATON', 'INET_NTOA', 'INET6_ATON', 'INET6_NTOA',
  'IS_IPV4', 'IS_IPV4_COMPAT', 'IS_IPV4_MAPPED', 'IS_IPV6', 'IS_UUID', 'MD5', 'RANDOM_BYTES', 'SHA', 'SHA1', 'SHA2',
  'SYS_GUID', 'UNCOMPRESS', 'UNCOMPRESSED_LENGTH', 'UUID', 'UUID_TO_BIN',
  // Session and server information (reads only).
  'BENCHMARK', 'CONNECTION_ID', 'CURRENT_ROLE', 'CURRENT_USER', 'DATABASE', 'FORMAT_BYTES', 'FORMAT_PICO_TIME',
  'FOUND_ROWS', 'GTID_SUBSET', 'GTID_SUBTRACT', 'ICU_VERSION', 'IS_FREE_LOCK', 'IS_USED_LOCK', 'LAST_INSERT_ID',
  'LASTVAL', 'NAME_CONST', 'PS_CURRENT_THREAD_ID', 'PS_THREAD_ID', 'ROW_COUNT', 'SCHEMA', 'SESSION_USER', 'SLEEP',
  'STATEMENT_DIGEST', 'STATEMENT_DIGEST_TEXT', 'SYSTEM_USER', 'USER', 'VERSION',
  // Row and value constructors (VALUES ROW(…), ON DUPLICATE KEY UPDATE a = VALUES(a)).
  'DEFAULT', 'ROW', 'VALUES',
  // MariaDB dynamic columns (return values; they write nothing).
  'COLUMN_ADD', 'COLUMN_CHECK', 'COLUMN_CREATE', 'COLUMN_DELETE', 'COLUMN_EXISTS', 'COLUMN_GET', 'COLUMN_JSON',
  'COLUMN_LIST',
  // Spatial constructors and functions.
  'GEOMETRYCOLLECTION', 'LINESTRING', 'MBRCONTAINS', 'MBRCOVEREDBY', 'MBRCOVERS', 'MBRDISJOINT', 'MBREQUALS',
  'MBRINTERSECTS', 'MBROVERLAPS', 'MBRTOUCHES', 'MBRWITHIN', 'MULTILINESTRING', 'MULTIPOINT', 'MULTIPOLYGON', 'POINT',
  'POLYGON', 'ST_AREA', 'ST_ASBINARY', 'ST_ASGEOJSON', 'ST_ASTEXT', 'ST_ASWKB', 'ST_ASWKT', 'ST_BUFFER',
  'ST_CENTROID', 'ST_CONTAINS', 'ST_CROSSES', 'ST_DIFFERENCE', 'ST_DISJOINT', 'ST_DISTANCE', 'ST_DISTANCE_SPHERE',
  'ST_ENDPOINT', 'ST_ENVELOPE', 'ST_EQUALS', 'ST_GEOHASH', 'ST_GEOMETRYTYPE', 'ST_GEOMFROMGEOJSON',
  'ST_GEOMFROMTEXT', 'ST_GEOMFROMWKB', 'ST_INTERSECTION', 'ST_INTERSECTS', 'ST_ISEMPTY', 'ST_ISVALID', 'ST_LATITUDE',
  'ST_LENGTH', 'ST_LONGITUDE', 'ST_MAKEENVELOPE', 'ST_NUMPOINTS', 'ST_OVERLAPS', 'ST_POINTFROMTEXT', 'ST_POINTN',
  'ST_SRID', 'ST_STARTPOINT', 'ST_SYMDIFFERENCE', 'ST_TOUCHES', 'ST_UNION', 'ST_WITHIN', 'ST_X', 'ST_Y',
]);

/**
 * Built-ins and forms with a side effect, for the tests and the documentation (the classifier itself needs no
 * deny-list: anything not allowed above is refused). Each entry is a text that must never be a plain read.
 */
export const SIDE_EFFECTING_CALLS: readonly string[] = [
  "GET_LOCK('l', 1)",
  "RELEASE_LOCK('l')",
  'RELEASE_ALL_LOCKS()',
  "SERVICE_GET_READ_LOCKS('ns', 'l', 1)",
  "SERVICE_GET_WRITE_LOCKS('ns', 'l', 1)",
  "SERVICE_RELEASE_LOCKS('ns')",
  "VERSION_TOKENS_LOCK_SHARED('t', 1)",
  "VERSION_TOKENS_LOCK_EXCLUSIVE('t', 1)",
  'VERSION_TOKENS_UNLOCK()',
  'NEXTVAL(s)',
  'SETVAL(s, 10)',
  'NEXT VALUE FOR s',
  's.NEXTVAL',
  'LAST_INSERT_ID(7)',
  'UUID_SHORT()',
  "MASTER_POS_WAIT('f', 4)",
  "SOURCE_POS_WAIT('f', 4)",
  "MASTER_GTID_WAIT('0-1-1')",
  "WAIT_FOR_EXECUTED_GTID_SET('x')",
  "LOAD_FILE('/etc/hosts')",
  "keyring_key_store('k', 'AES', 'x')",
  "audit_log_filter_flush()",
  "log_hit('x')",
];
