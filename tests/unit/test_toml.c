/* test_toml.c: unit tests for the TOML subset parser (common/toml.h): every
 * supported construct, every class of error with its exact message, the
 * limits, and the string writer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "toml.h"
#include "util.h"

static struct toml_node *parse_ok_len(const char *doc, size_t len)
{
        struct toml_node *root = NULL;
        char *err = NULL;

        int r = toml_parse(doc, len, "t.toml", &root, &err);
        if (r < 0)
                fail_msg("unexpected error %d: %s", r, err ? err : "(none)");
        assert_non_null(root);
        assert_null(err);
        return root;
}

static struct toml_node *parse_ok(const char *doc)
{
        return parse_ok_len(doc, strlen(doc));
}

static void check_error_len(const char *doc, size_t len, const char *expected)
{
        struct toml_node *root = NULL;
        char *err = NULL;

        int r = toml_parse(doc, len, "t.toml", &root, &err);
        assert_int_equal(r, -EINVAL);
        assert_null(root);
        assert_non_null(err);
        assert_string_equal(err, expected);
        free(err);
}

static void check_error(const char *doc, const char *expected)
{
        check_error_len(doc, strlen(doc), expected);
}

static void check_path(const struct toml_node *n, const char *expected)
{
        char *path = NULL;
        assert_int_equal(toml_path(n, &path), 0);
        assert_string_equal(path, expected);
        free(path);
}

static const struct toml_node *get(const struct toml_node *t, const char *key, enum toml_type type)
{
        const struct toml_node *n = toml_get(t, key);
        if (!n)
                fail_msg("key '%s' not found", key);
        assert_int_equal(n->type, type);
        return n;
}

static void test_empty_documents(void **state)
{
        static const char *const docs[] = {
            "", "\n", "\r\n", "   \t  \n\n", "# only a comment", "# c\n\n  # c2 \r\n",
        };
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(docs); i++) {
                struct toml_node *root = parse_ok(docs[i]);
                assert_int_equal(root->type, TOML_TABLE);
                assert_int_equal(root->n_items, 0);
                assert_null(root->parent);
                assert_null(root->key);
                check_path(root, "");
                toml_free(root);
        }
        toml_free(NULL);
}

static void test_null_buffer(void **state)
{
        struct toml_node *root = NULL;
        char *err = NULL;
        (void)state;
        assert_int_equal(toml_parse(NULL, 0, "t.toml", &root, &err), 0);
        assert_int_equal(root->n_items, 0);
        toml_free(root);
}

static void test_keys(void **state)
{
        struct toml_node *root = parse_ok("bare_Key-1 = 1\n"
                                          "\"quoted key\" = 2\n"
                                          "'literal \"key\"' = 3\n"
                                          "\"\" = 4\n"
                                          "1234 = 5\n"
                                          "\"\\u00e9t\\u00e9\" = 6\n"
                                          "  indented\t=\t7  \n"
                                          "x=8");
        (void)state;
        assert_int_equal(root->n_items, 8);
        assert_int_equal(get(root, "bare_Key-1", TOML_INTEGER)->integer, 1);
        assert_int_equal(get(root, "quoted key", TOML_INTEGER)->integer, 2);
        assert_int_equal(get(root, "literal \"key\"", TOML_INTEGER)->integer, 3);
        assert_int_equal(get(root, "", TOML_INTEGER)->integer, 4);
        assert_int_equal(get(root, "1234", TOML_INTEGER)->integer, 5);
        assert_int_equal(get(root, "\xc3\xa9t\xc3\xa9", TOML_INTEGER)->integer, 6);
        assert_int_equal(get(root, "indented", TOML_INTEGER)->integer, 7);
        assert_int_equal(get(root, "x", TOML_INTEGER)->integer, 8);
        assert_null(toml_get(root, "missing"));
        assert_null(toml_get(root->items[0], "x"));

        /* Document order, lines, indices and parents. */
        static const char *const order[] = {
            "bare_Key-1", "quoted key",        "literal \"key\"", "",
            "1234",       "\xc3\xa9t\xc3\xa9", "indented",        "x",
        };
        for (size_t i = 0; i < root->n_items; i++) {
                assert_string_equal(root->items[i]->key, order[i]);
                assert_int_equal(root->items[i]->line, i + 1);
                assert_int_equal(root->items[i]->index, i);
                assert_ptr_equal(root->items[i]->parent, root);
        }
        check_path(root->items[1], "\"quoted key\"");
        check_path(root->items[2], "\"literal \\\"key\\\"\"");
        check_path(root->items[3], "\"\"");
        check_path(root->items[4], "1234");
        toml_free(root);
}

static void test_dotted_keys(void **state)
{
        struct toml_node *root = parse_ok("a.b.c = 1\n"
                                          "a . b . d = 2\n"
                                          "a.\"x.y\" = 3\n"
                                          "3.14 = 4\n"
                                          "site.\"google.com\" = true\n");
        (void)state;
        const struct toml_node *a = get(root, "a", TOML_TABLE);
        const struct toml_node *b = get(a, "b", TOML_TABLE);
        assert_int_equal(a->line, 1);
        assert_int_equal(b->n_items, 2);
        assert_int_equal(get(b, "c", TOML_INTEGER)->integer, 1);
        const struct toml_node *d = get(b, "d", TOML_INTEGER);
        assert_int_equal(d->line, 2);
        check_path(d, "a.b.d");
        check_path(get(a, "x.y", TOML_INTEGER), "a.\"x.y\"");
        assert_int_equal(get(get(root, "3", TOML_TABLE), "14", TOML_INTEGER)->integer, 4);
        assert_true(get(get(root, "site", TOML_TABLE), "google.com", TOML_BOOLEAN)->boolean);
        toml_free(root);
}

static void test_tables(void **state)
{
        struct toml_node *root = parse_ok("top = 0\n"
                                          "[a]\n"
                                          "x = 1\n"
                                          "[ b . c ] # comment\n"
                                          "y = 2\n"
                                          "[b]\n"
                                          "z = 3\n"
                                          "[d.e.f]\n"
                                          "[d]\n"
                                          "[\"q k\".'l']\n"
                                          "w = 4\n");
        (void)state;
        assert_int_equal(root->n_items, 5);
        assert_string_equal(root->items[0]->key, "top");
        assert_string_equal(root->items[1]->key, "a");
        assert_string_equal(root->items[2]->key, "b");
        assert_string_equal(root->items[3]->key, "d");
        assert_string_equal(root->items[4]->key, "q k");

        const struct toml_node *a = get(root, "a", TOML_TABLE);
        assert_int_equal(a->line, 2);
        assert_int_equal(get(a, "x", TOML_INTEGER)->integer, 1);

        /* An implicit table takes the line of its own header once it gets one. */
        const struct toml_node *b = get(root, "b", TOML_TABLE);
        assert_int_equal(b->line, 6);
        assert_string_equal(b->items[0]->key, "c");
        assert_string_equal(b->items[1]->key, "z");
        const struct toml_node *c = get(b, "c", TOML_TABLE);
        assert_int_equal(c->line, 4);
        check_path(get(c, "y", TOML_INTEGER), "b.c.y");

        const struct toml_node *d = get(root, "d", TOML_TABLE);
        assert_int_equal(d->line, 9);
        assert_int_equal(get(get(d, "e", TOML_TABLE), "f", TOML_TABLE)->line, 8);

        const struct toml_node *w =
            get(get(get(root, "q k", TOML_TABLE), "l", TOML_TABLE), "w", TOML_INTEGER);
        check_path(w, "\"q k\".l.w");
        assert_int_equal(w->line, 11);
        toml_free(root);
}

static void test_subtable_of_dotted_table(void **state)
{
        /* The example from the TOML 1.0 "Table" section. */
        struct toml_node *root = parse_ok("[fruit]\n"
                                          "apple.color = \"red\"\n"
                                          "apple.taste.sweet = true\n"
                                          "[fruit.apple.texture]\n"
                                          "smooth = true\n");
        (void)state;
        const struct toml_node *apple = get(get(root, "fruit", TOML_TABLE), "apple", TOML_TABLE);
        assert_int_equal(apple->n_items, 3);
        assert_string_equal(get(apple, "color", TOML_STRING)->string, "red");
        assert_true(get(get(apple, "texture", TOML_TABLE), "smooth", TOML_BOOLEAN)->boolean);
        toml_free(root);
}

static void test_strings(void **state)
{
        struct toml_node *root = parse_ok("basic = \"a b\\\"c\\\\d\"\n"
                                          "escapes = \"\\b\\t\\n\\f\\r\\\"\\\\\"\n"
                                          "u4 = \"\\u00E9\\u20ac\\u0041\"\n"
                                          "u8 = \"\\U0001F600\\U0010FFFF\\U00000041\"\n"
                                          "raw = \"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"\n"
                                          "tab = \"a\tb\"\n"
                                          "empty = \"\"\n"
                                          "literal = 'C:\\Users\\n\"x\"'\n"
                                          "literal_empty = ''\n"
                                          "hash = \"# not a comment\" # a comment\n");
        (void)state;
        assert_string_equal(get(root, "basic", TOML_STRING)->string, "a b\"c\\d");
        assert_string_equal(get(root, "escapes", TOML_STRING)->string, "\b\t\n\f\r\"\\");
        assert_string_equal(get(root, "u4", TOML_STRING)->string, "\xc3\xa9\xe2\x82\xac"
                                                                  "A");
        assert_string_equal(get(root, "u8", TOML_STRING)->string, "\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf"
                                                                  "A");
        assert_string_equal(get(root, "raw", TOML_STRING)->string,
                            "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
        assert_string_equal(get(root, "tab", TOML_STRING)->string, "a\tb");
        assert_string_equal(get(root, "empty", TOML_STRING)->string, "");
        assert_string_equal(get(root, "literal", TOML_STRING)->string, "C:\\Users\\n\"x\"");
        assert_string_equal(get(root, "literal_empty", TOML_STRING)->string, "");
        assert_string_equal(get(root, "hash", TOML_STRING)->string, "# not a comment");
        toml_free(root);
}

static void test_integers(void **state)
{
        static const struct {
                const char *text;
                int64_t value;
        } cases[] = {
            {"0", 0},
            {"+0", 0},
            {"-0", 0},
            {"7", 7},
            {"+99", 99},
            {"-17", -17},
            {"1_000", 1000},
            {"5_349_221", 5349221},
            {"1_2_3_4_5", 12345},
            {"9223372036854775807", INT64_MAX},
            {"-9223372036854775808", INT64_MIN},
            {"0xDEADBEEF", 0xdeadbeef},
            {"0xdead_beef", 0xdeadbeef},
            {"0x00000001", 1},
            {"0x7fffffffffffffff", INT64_MAX},
            {"0o01234567", 01234567},
            {"0o755", 0755},
            {"0b11010110", 0xd6},
            {"0b1_0", 2},
        };
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                char doc[64];
                snprintf(doc, sizeof(doc), "v = %s\n", cases[i].text);
                struct toml_node *root = parse_ok(doc);
                assert_int_equal(get(root, "v", TOML_INTEGER)->integer, cases[i].value);
                toml_free(root);
        }
}

static void test_booleans(void **state)
{
        struct toml_node *root = parse_ok("t = true\nf = false #c\n");
        (void)state;
        assert_true(get(root, "t", TOML_BOOLEAN)->boolean);
        assert_false(get(root, "f", TOML_BOOLEAN)->boolean);
        toml_free(root);
}

static void test_arrays(void **state)
{
        struct toml_node *root = parse_ok("empty = []\n"
                                          "empty2 = [ # c\n"
                                          "]\n"
                                          "ints = [1, 2, 3]\n"
                                          "trailing = [1,2,]\n"
                                          "strings = [\n"
                                          "  \"a\", # first\n"
                                          "  'b',\n"
                                          "\n"
                                          "  # between\n"
                                          "  \"c\"\n"
                                          "]\n"
                                          "nested = [[1, 2], [\"x\"], []]\n"
                                          "bools = [true,false]\n"
                                          "crlf = [\r\n1,\r\n2]\r\n");
        (void)state;
        assert_int_equal(get(root, "empty", TOML_ARRAY)->n_items, 0);
        assert_int_equal(get(root, "empty2", TOML_ARRAY)->n_items, 0);

        const struct toml_node *ints = get(root, "ints", TOML_ARRAY);
        assert_int_equal(ints->n_items, 3);
        for (size_t i = 0; i < 3; i++) {
                assert_int_equal(ints->items[i]->type, TOML_INTEGER);
                assert_int_equal(ints->items[i]->integer, (int64_t)i + 1);
                assert_null(ints->items[i]->key);
                assert_int_equal(ints->items[i]->index, i);
        }
        assert_null(toml_get(ints, "0"));
        assert_int_equal(get(root, "trailing", TOML_ARRAY)->n_items, 2);

        const struct toml_node *strings = get(root, "strings", TOML_ARRAY);
        assert_int_equal(strings->line, 6);
        assert_int_equal(strings->n_items, 3);
        assert_string_equal(strings->items[0]->string, "a");
        assert_int_equal(strings->items[0]->line, 7);
        assert_string_equal(strings->items[1]->string, "b");
        assert_string_equal(strings->items[2]->string, "c");
        assert_int_equal(strings->items[2]->line, 11);
        check_path(strings->items[2], "strings[2]");

        const struct toml_node *nested = get(root, "nested", TOML_ARRAY);
        assert_int_equal(nested->n_items, 3);
        assert_int_equal(nested->items[0]->type, TOML_ARRAY);
        assert_int_equal(nested->items[0]->items[1]->integer, 2);
        assert_string_equal(nested->items[1]->items[0]->string, "x");
        assert_int_equal(nested->items[2]->n_items, 0);
        check_path(nested->items[1]->items[0], "nested[1][0]");

        const struct toml_node *bools = get(root, "bools", TOML_ARRAY);
        assert_true(bools->items[0]->boolean);
        assert_false(bools->items[1]->boolean);

        const struct toml_node *crlf = get(root, "crlf", TOML_ARRAY);
        assert_int_equal(crlf->items[1]->line, 17);
        toml_free(root);
}

static void test_line_numbers_after_arrays(void **state)
{
        (void)state;
        check_error("a = [\n1,\n2,\n]\nb = 1\nb = 2\n",
                    "t.toml:6: key 'b': duplicate key (first defined on line 5)");
        check_error("a = 1\r\n\r\nb = 1\r\na = 1\r\n",
                    "t.toml:4: key 'a': duplicate key (first defined on line 1)");
}

static void test_duplicates_and_redefinitions(void **state)
{
        (void)state;
        check_error("a = 1\na = 2\n", "t.toml:2: key 'a': duplicate key (first defined on line 1)");
        check_error("a = 1\n\"a\" = 2\n",
                    "t.toml:2: key 'a': duplicate key (first defined on line 1)");
        check_error("a = 1\n'a' = 2\n",
                    "t.toml:2: key 'a': duplicate key (first defined on line 1)");
        check_error("a.b = 1\na.b = 2\n",
                    "t.toml:2: key 'a.b': duplicate key (first defined on line 1)");
        check_error("[t]\nx = 1\n\n# c\nx = 2\n",
                    "t.toml:5: key 't.x': duplicate key (first defined on line 2)");
        check_error("[a]\n[a]\n", "t.toml:2: key 'a': table already defined on line 1");
        check_error("[a.b]\n[a]\n[a.b]\n", "t.toml:3: key 'a.b': table already defined on line 1");
        check_error("[a]\n[b]\n[a]\n", "t.toml:3: key 'a': table already defined on line 1");
        check_error("[a.b.c]\n[a]\n[a]\n", "t.toml:3: key 'a': table already defined on line 2");
        /* Tables made by dotted keys cannot get a header later. */
        check_error("a.b = 1\n[a]\n", "t.toml:2: key 'a': table already defined on line 1");
        check_error("[fruit]\napple.color = 'red'\n[fruit.apple]\n",
                    "t.toml:3: key 'fruit.apple': table already defined on line 2");
        /* Dotted keys cannot extend tables that have (or imply) a header. */
        check_error("[a.b.c]\nz = 9\n[a]\nb.c.t = 1\n",
                    "t.toml:4: key 'a.b': table defined by a [table] header on line 1 cannot be "
                    "extended with dotted keys");
        check_error("[a.b]\n[a]\nb.x = 1\n",
                    "t.toml:3: key 'a.b': table defined by a [table] header on line 1 cannot be "
                    "extended with dotted keys");
}

static void test_table_and_value(void **state)
{
        (void)state;
        check_error("a = 1\na.b = 2\n",
                    "t.toml:2: key 'a': already defined as a value (integer) on line 1; it cannot "
                    "also be a table");
        check_error("a = 'x'\n[a]\n",
                    "t.toml:2: key 'a': already defined as a value (string) on line 1; it cannot "
                    "also be a table");
        check_error("a = [1]\n[a.b]\n",
                    "t.toml:2: key 'a': already defined as a value (array) on line 1; it cannot "
                    "also be a table");
        check_error("[t]\na = true\n[t.a.b]\n",
                    "t.toml:3: key 't.a': already defined as a value (boolean) on line 2; it "
                    "cannot also be a table");
        check_error("a.b = 1\na = 2\n", "t.toml:2: key 'a': already defined as a table on line 1");
        check_error("[a.b]\n[a]\nb = 2\n",
                    "t.toml:3: key 'a.b': already defined as a table on line 1");
}

static void test_input_errors(void **state)
{
        (void)state;
        check_error_len("a = 1\nb = \"x\0y\"\n", 14, "t.toml:2: NUL byte is not allowed");
        check_error_len("\0", 1, "t.toml:1: NUL byte is not allowed");
        check_error("a = 1\n\nb = \"\xff\"\n", "t.toml:3: invalid UTF-8");
        check_error("# \xc0\xaf overlong\n", "t.toml:1: invalid UTF-8");
        check_error("a = \"\xed\xa0\x80\"\n", "t.toml:1: invalid UTF-8");
        check_error("a = \"\xf4\x90\x80\x80\"\n", "t.toml:1: invalid UTF-8");
        check_error("a = \"\xe2\x82\"\n", "t.toml:1: invalid UTF-8");
        check_error("a = 1\n\xe2\x82", "t.toml:2: invalid UTF-8");
        check_error("a = 1\rb = 2\n", "t.toml:1: carriage return not followed by a line feed");
        check_error("a = 1\r", "t.toml:1: carriage return not followed by a line feed");
}

static void test_control_characters(void **state)
{
        (void)state;
        check_error("a = \"x\x01\"\n",
                    "t.toml:1: key 'a': control character U+0001 in string (use an escape "
                    "sequence)");
        check_error("a = \"x\x7f\"\n",
                    "t.toml:1: key 'a': control character U+007F in string (use an escape "
                    "sequence)");
        check_error("a = 'x\x1b'\n", "t.toml:1: key 'a': control character U+001B in string");
        check_error("\n# bell \x07\n", "t.toml:2: control character U+0007 in comment");
        check_error("a = 1 # \x7f\n", "t.toml:1: control character U+007F in comment");
        check_error("\"k\x02\" = 1\n", "t.toml:1: control character U+0002 in string (use an "
                                       "escape sequence)");
        check_error("a = \x01\n", "t.toml:1: key 'a': invalid value starting with U+0001");
}

static void test_line_structure_errors(void **state)
{
        (void)state;
        check_error("a = 1 b = 2\n",
                    "t.toml:1: key 'a': expected end of line after the value, found 'b'");
        check_error("a = \"x\" \"y\"\n",
                    "t.toml:1: key 'a': expected end of line after the value, found '\"'");
        check_error("a = \"x\"y\n",
                    "t.toml:1: key 'a': expected end of line after the value, found 'y'");
        check_error("a = [1] 2\n",
                    "t.toml:1: key 'a': expected end of line after the value, found '2'");
        check_error("a = true,\n", "t.toml:1: key 'a': expected end of line after the value, found "
                                   "','");
        check_error("a = 1 \xc3\xa9\n",
                    "t.toml:1: key 'a': expected end of line after the value, found U+00E9");
        check_error("\n[a] b = 1\n",
                    "t.toml:2: key 'a': expected end of line after table header, found 'b'");
        check_error("[a\n", "t.toml:1: expected ']' after table name, found end of line");
        check_error("[a", "t.toml:1: expected ']' after table name, found end of file");
        check_error("[a b]\n", "t.toml:1: expected ']' after table name, found 'b'");
        check_error("a\n", "t.toml:1: expected '=' after key, found end of line");
        check_error("a b = 1\n", "t.toml:1: expected '=' after key, found 'b'");
        check_error("a = \n", "t.toml:1: key 'a': missing value");
        check_error("a =", "t.toml:1: key 'a': missing value");
        check_error("a = # c\n", "t.toml:1: key 'a': missing value");
        check_error("a = @\n", "t.toml:1: key 'a': invalid value starting with '@'");
        check_error("a = }\n", "t.toml:1: key 'a': invalid value starting with '}'");
}

static void test_empty_keys(void **state)
{
        (void)state;
        check_error("= 1\n", "t.toml:1: expected a key, found '='");
        check_error(".a = 1\n", "t.toml:1: expected a key, found '.'");
        check_error("a. = 1\n", "t.toml:1: expected a key after '.', found '='");
        check_error("a..b = 1\n", "t.toml:1: expected a key after '.', found '.'");
        check_error("[]\n", "t.toml:1: expected a key, found ']'");
        check_error("[a.]\n", "t.toml:1: expected a key after '.', found ']'");
        check_error("a.\n", "t.toml:1: expected a key after '.', found end of line");
        check_error("@ = 1\n", "t.toml:1: expected a key, found '@'");
        check_error("\xc3\xa9 = 1\n", "t.toml:1: expected a key, found U+00E9");
        check_error("\"\"\"a\"\"\" = 1\n", "t.toml:1: expected '=' after key, found '\"'");
}

static void test_unterminated(void **state)
{
        (void)state;
        check_error("a = \"abc\n", "t.toml:1: key 'a': unterminated string (missing closing '\"')");
        check_error("a = \"abc", "t.toml:1: key 'a': unterminated string (missing closing '\"')");
        check_error("a = 'abc\nb = 1\n",
                    "t.toml:1: key 'a': unterminated string (missing closing ''')");
        check_error("a = \"ab\\\"\n",
                    "t.toml:1: key 'a': unterminated string (missing closing '\"')");
        check_error("\"key = 1\n", "t.toml:1: unterminated string (missing closing '\"')");
        check_error("x = 1\na = [1,\n2\n", "t.toml:2: key 'a': unterminated array (missing ']')");
        check_error("a = [", "t.toml:1: key 'a': unterminated array (missing ']')");
        check_error("a = [[1], [2]\n", "t.toml:1: key 'a': unterminated array (missing ']')");
        check_error("a = [1, 2\nb = 3\n",
                    "t.toml:2: key 'a': expected ',' or ']' in array, found 'b'");
        check_error("a = [1 2]\n", "t.toml:1: key 'a': expected ',' or ']' in array, found '2'");
        check_error("a = [1,,2]\n", "t.toml:1: key 'a': missing value before ','");
        check_error("a = [,]\n", "t.toml:1: key 'a': missing value before ','");
        check_error("a = [\n\n# c\n]]\n",
                    "t.toml:4: key 'a': expected end of line after the value, found ']'");
}

static void test_unsupported(void **state)
{
        static const struct {
                const char *doc;
                const char *err;
        } cases[] = {
            {"a = 1.5\n", "floating-point numbers"},
            {"a = -0.0\n", "floating-point numbers"},
            {"a = 5e+22\n", "floating-point numbers"},
            {"a = 1E6\n", "floating-point numbers"},
            {"a = 6.626e-34\n", "floating-point numbers"},
            {"a = 224_617.445_991\n", "floating-point numbers"},
            {"a = inf\n", "floating-point numbers"},
            {"a = +inf\n", "floating-point numbers"},
            {"a = -nan\n", "floating-point numbers"},
            {"a = [1.0]\n", "floating-point numbers"},
            {"a = 1979-05-27T07:32:00Z\n", "dates and times"},
            {"a = 1979-05-27 07:32:00-08:00\n", "dates and times"},
            {"a = 1979-05-27\n", "dates and times"},
            {"a = 07:32:00\n", "dates and times"},
            {"a = 00:32:00.999999\n", "dates and times"},
            {"a = \"\"\"x\"\"\"\n", "multi-line strings"},
            {"a = \"\"\"\nx\"\"\"\n", "multi-line strings"},
            {"a = '''x'''\n", "multi-line strings"},
        };
        char expected[256];
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                snprintf(expected, sizeof(expected),
                         "t.toml:1: key '%s': %s are not supported by brig's configuration parser",
                         strncmp(cases[i].doc, "a = [", 5) == 0 ? "a[0]" : "a", cases[i].err);
                check_error(cases[i].doc, expected);
        }
        check_error("a = \"\\u0000\"\n", "t.toml:1: key 'a': U+0000 (NUL) in a string is not "
                                         "supported by brig's configuration parser");
        check_error("\"\\u0000\" = 1\n", "t.toml:1: U+0000 (NUL) in a string is not supported by "
                                         "brig's configuration parser");
}

static void test_arrays_of_tables(void **state)
{
        (void)state;
        struct toml_node *root = parse_ok("top = 1\n"
                                          "[[registry]]\n"
                                          "location = \"a\"\n"
                                          "[[registry.mirror]]\n"
                                          "location = \"m1\"\n"
                                          "[[registry.mirror]]\n"
                                          "location = \"m2\"\n"
                                          "[registry.extra]\n"
                                          "x = 1\n"
                                          "[[registry]]\n"
                                          "location = \"b\"\n"
                                          "[[other.list]]\n"
                                          "[other]\n"
                                          "y = 2\n");
        const struct toml_node *reg = get(root, "registry", TOML_ARRAY);
        assert_int_equal(reg->n_items, 2);
        assert_int_equal(reg->line, 2);
        const struct toml_node *r0 = reg->items[0];
        assert_int_equal(r0->type, TOML_TABLE);
        assert_int_equal(r0->line, 2);
        assert_string_equal(get(r0, "location", TOML_STRING)->string, "a");
        const struct toml_node *mirrors = get(r0, "mirror", TOML_ARRAY);
        assert_int_equal(mirrors->n_items, 2);
        assert_string_equal(get(mirrors->items[1], "location", TOML_STRING)->string, "m2");
        check_path(get(mirrors->items[1], "location", TOML_STRING),
                   "registry[0].mirror[1].location");
        assert_int_equal(get(get(r0, "extra", TOML_TABLE), "x", TOML_INTEGER)->integer, 1);
        const struct toml_node *r1 = reg->items[1];
        assert_int_equal(r1->line, 10);
        assert_string_equal(get(r1, "location", TOML_STRING)->string, "b");
        assert_null(toml_get(r1, "mirror"));
        const struct toml_node *other = get(root, "other", TOML_TABLE);
        assert_int_equal(get(other, "list", TOML_ARRAY)->n_items, 1);
        assert_int_equal(get(other, "y", TOML_INTEGER)->integer, 2);
        toml_free(root);
}

static void test_inline_tables(void **state)
{
        (void)state;
        struct toml_node *root =
            parse_ok("e = {}\n"
                     "a = { location = \"x\", insecure = true, b.c = 1, b.d = 2 }\n"
                     "n = {x={y={z=\"deep\"}}}\n"
                     "mirror = [\n"
                     "  { location = \"m1\" }, # first\n"
                     "  {location='m2', list=[1,\n"
                     "    2]},\n"
                     "]\n");
        assert_int_equal(get(root, "e", TOML_TABLE)->n_items, 0);
        const struct toml_node *a = get(root, "a", TOML_TABLE);
        assert_int_equal(a->n_items, 3);
        assert_string_equal(get(a, "location", TOML_STRING)->string, "x");
        assert_true(get(a, "insecure", TOML_BOOLEAN)->boolean);
        assert_int_equal(get(get(a, "b", TOML_TABLE), "d", TOML_INTEGER)->integer, 2);
        const struct toml_node *z =
            get(get(get(get(root, "n", TOML_TABLE), "x", TOML_TABLE), "y", TOML_TABLE), "z",
                TOML_STRING);
        check_path(z, "n.x.y.z");
        const struct toml_node *m = get(root, "mirror", TOML_ARRAY);
        assert_int_equal(m->n_items, 2);
        assert_int_equal(m->items[1]->type, TOML_TABLE);
        assert_int_equal(m->items[1]->line, 6);
        assert_string_equal(get(m->items[1], "location", TOML_STRING)->string, "m2");
        assert_int_equal(get(m->items[1], "list", TOML_ARRAY)->n_items, 2);
        toml_free(root);
}

static void test_inline_and_array_of_tables_errors(void **state)
{
        (void)state;
        /* A table is not an array of tables, and the other way round. */
        check_error("[a]\n[[a]]\n",
                    "t.toml:2: key 'a': already defined as a table on line 1; it cannot also be "
                    "an array of tables");
        check_error("[[a]]\n[a]\n", "t.toml:2: key 'a': already defined as an array of tables "
                                    "on line 1; it cannot also be a table");
        /* Static arrays cannot be appended to by [[...]]. */
        check_error("a = []\n[[a]]\n", "t.toml:2: key 'a': already defined as a value (array) on "
                                       "line 1; it cannot also be an array of tables");
        check_error("a = [{x = 1}]\n[[a]]\n",
                    "t.toml:2: key 'a': already defined as a value (array) on line 1; it cannot "
                    "also be an array of tables");
        check_error("a = [{x = 1}]\n[a.b]\n",
                    "t.toml:2: key 'a': already defined as a value (array) on line 1; it cannot "
                    "also be a table");
        check_error("a = 1\n[[a.b]]\n", "t.toml:2: key 'a': already defined as a value "
                                        "(integer) on line 1; it cannot also be a table");
        check_error("[[t.a]]\n[t]\na.x = 1\n",
                    "t.toml:3: key 't.a': already defined as an array of tables on line 1; "
                    "dotted keys cannot extend it");
        /* Inline tables are closed. */
        check_error("a = {x = 1}\n[a]\n",
                    "t.toml:2: key 'a': inline table defined on line 1 cannot be extended");
        check_error("a = {x = 1}\n[a.b]\n",
                    "t.toml:2: key 'a': inline table defined on line 1 cannot be extended");
        check_error("a = {x = {}}\n[[a.x.y]]\n",
                    "t.toml:2: key 'a': inline table defined on line 1 cannot be extended");
        check_error("a = {x = 1}\na.y = 2\n",
                    "t.toml:2: key 'a': inline table defined on line 1 cannot be extended");
        check_error("a = {x = {y = 1}, x.z = 2}\n",
                    "t.toml:1: key 'a.x': inline table defined on line 1 cannot be extended");
        check_error("a = {b.c = 1}\n[a.b]\n",
                    "t.toml:2: key 'a': inline table defined on line 1 cannot be extended");
        check_error("a = {x = 1, x = 2}\n",
                    "t.toml:1: key 'a.x': duplicate key (first defined on line 1)");
        check_error("a = {x.y = 1, x = 2}\n",
                    "t.toml:1: key 'a.x': already defined as a table on line 1");
        /* Syntax. */
        check_error("a = {x = 1,}\n",
                    "t.toml:1: key 'a': trailing ',' is not allowed in an inline table");
        check_error("a = {x = 1 y = 2}\n",
                    "t.toml:1: key 'a': expected ',' or '}' in inline table, found 'y'");
        check_error("a = {x = 1\n}\n", "t.toml:1: key 'a': unterminated inline table (missing "
                                       "'}'; an inline table must fit on one line)");
        check_error("a = {\nx = 1}\n", "t.toml:1: key 'a': unterminated inline table (missing "
                                       "'}'; an inline table must fit on one line)");
        check_error("a = {x = 1, # c\n}\n", "t.toml:1: key 'a': unterminated inline table "
                                            "(missing '}'; an inline table must fit on one line)");
        check_error("a = {x = 1", "t.toml:1: key 'a': unterminated inline table (missing '}'; "
                                  "an inline table must fit on one line)");
        check_error("a = {,}\n", "t.toml:1: expected a key, found ','");
        check_error("a = {x}\n", "t.toml:1: expected '=' after key, found '}'");
        check_error("a = [{x = 1}, 2]\n", "t.toml:1: key 'a': array mixes types table and "
                                          "integer (all elements must have the same type)");
        check_error("[[a]\n", "t.toml:1: expected ']]' after table name, found end of line");
        check_error("[[a]]]\n",
                    "t.toml:1: key 'a[0]': expected end of line after table header, found ']'");
        check_error("[[a] ]\n", "t.toml:1: expected ']]' after table name, found U+0020");
        check_error("[[]]\n", "t.toml:1: expected a key, found ']'");
}

static void test_limits_of_tables(void **state)
{
        (void)state;
        /* Each [[...]] level adds an array and a table above the values. */
        char doc[512] = "";
        char name[64] = "";
        for (int i = 0; i < 9; i++) {
                if (i > 0)
                        strcat(name, ".");
                strcat(name, "a");
                strcat(doc, "[[");
                strcat(doc, name);
                strcat(doc, "]]\n");
        }
        check_error(doc, "t.toml:9: tables nested more than 16 levels deep");
        doc[strlen(doc) - strlen("[[a.a.a.a.a.a.a.a.a]]\n")] = '\0';
        toml_free(parse_ok(doc));

        check_error("a = {b = {c = {d = {e = {f = {g = {h = {i = {j = {k = {l = {m = {n = {o = "
                    "{p = {q = 1}}}}}}}}}}}}}}}}\n",
                    "t.toml:1: key is nested more than 16 levels deep");

        size_t one = strlen("[[a]]\n");
        size_t len = one * (TOML_MAX_ARRAY + 1);
        char *big = malloc(len + 1);
        assert_non_null(big);
        for (size_t i = 0; i <= TOML_MAX_ARRAY; i++)
                memcpy(big + i * one, "[[a]]\n", one);
        big[len] = '\0';
        check_error(big, "t.toml:4097: key 'a': array of tables has more than 4096 elements");
        big[len - one] = '\0';
        struct toml_node *root = parse_ok(big);
        assert_int_equal(get(root, "a", TOML_ARRAY)->n_items, TOML_MAX_ARRAY);
        toml_free(root);
        free(big);
}

static void test_invalid_integers(void **state)
{
        (void)state;
        check_error("a = 01\n", "t.toml:1: key 'a': leading zeros are not allowed in integer '01'");
        check_error("a = -00\n",
                    "t.toml:1: key 'a': leading zeros are not allowed in integer '-00'");
        check_error("a = 0_1\n",
                    "t.toml:1: key 'a': leading zeros are not allowed in integer '0_1'");
        check_error("a = 9223372036854775808\n",
                    "t.toml:1: key 'a': integer '9223372036854775808' is out of range (64-bit "
                    "signed)");
        check_error("a = -9223372036854775809\n",
                    "t.toml:1: key 'a': integer '-9223372036854775809' is out of range (64-bit "
                    "signed)");
        check_error("a = 0x8000000000000000\n",
                    "t.toml:1: key 'a': integer '0x8000000000000000' is out of range (64-bit "
                    "signed)");
        check_error("a = 0b"
                    "11111111111111111111111111111111111111111111111111111111111111111\n",
                    "t.toml:1: key 'a': integer "
                    "'0b11111111111111111111111111111111111111...' is out of range (64-bit "
                    "signed)");
        check_error("a = 1__0\n", "t.toml:1: key 'a': invalid value '1__0'");
        check_error("a = 1_\n", "t.toml:1: key 'a': invalid value '1_'");
        check_error("a = _1\n", "t.toml:1: key 'a': invalid value '_1'");
        check_error("a = 0x_1\n", "t.toml:1: key 'a': invalid value '0x_1'");
        check_error("a = 0x\n", "t.toml:1: key 'a': invalid value '0x'");
        check_error("a = +0x1\n", "t.toml:1: key 'a': invalid value '+0x1'");
        check_error("a = 0X1\n", "t.toml:1: key 'a': invalid value '0X1'");
        check_error("a = 0o8\n", "t.toml:1: key 'a': invalid value '0o8'");
        check_error("a = 0b2\n", "t.toml:1: key 'a': invalid value '0b2'");
        check_error("a = 0xg\n", "t.toml:1: key 'a': invalid value '0xg'");
        check_error("a = 12a\n", "t.toml:1: key 'a': invalid value '12a'");
        check_error("a = +\n", "t.toml:1: key 'a': invalid value '+'");
        check_error("a = 1.\n", "t.toml:1: key 'a': invalid value '1.'");
        check_error("a = .5\n", "t.toml:1: key 'a': invalid value '.5'");
        check_error("a = 1:2\n", "t.toml:1: key 'a': invalid value '1:2'");
        check_error("a = True\n",
                    "t.toml:1: key 'a': invalid value 'True' (strings must be quoted)");
        check_error("a = truex\n",
                    "t.toml:1: key 'a': invalid value 'truex' (strings must be quoted)");
        check_error("a = hello world\n",
                    "t.toml:1: key 'a': invalid value 'hello' (strings must be quoted)");
}

static void test_invalid_escapes(void **state)
{
        (void)state;
        check_error("a = \"\\x41\"\n", "t.toml:1: key 'a': invalid escape sequence '\\x'");
        check_error("a = \"\\e\"\n", "t.toml:1: key 'a': invalid escape sequence '\\e'");
        check_error("a = \"\\ \"\n",
                    "t.toml:1: key 'a': invalid escape sequence: '\\' followed by U+0020");
        check_error("a = \"\\\xc3\xa9\"\n",
                    "t.toml:1: key 'a': invalid escape sequence: '\\' followed by U+00E9");
        check_error("a = \"\\u12\"\n",
                    "t.toml:1: key 'a': invalid escape sequence: '\\u' needs 4 hex digits");
        check_error("a = \"\\U0001F60\"\n",
                    "t.toml:1: key 'a': invalid escape sequence: '\\U' needs 8 hex digits");
        check_error("a = \"\\uD800\"\n",
                    "t.toml:1: key 'a': invalid escape sequence '\\uD800': not a Unicode scalar "
                    "value");
        check_error("a = \"\\udfff\"\n",
                    "t.toml:1: key 'a': invalid escape sequence '\\udfff': not a Unicode scalar "
                    "value");
        check_error("a = \"\\U00110000\"\n",
                    "t.toml:1: key 'a': invalid escape sequence '\\U00110000': not a Unicode "
                    "scalar value");
        check_error("a = \"\\UFFFFFFFF\"\n",
                    "t.toml:1: key 'a': invalid escape sequence '\\UFFFFFFFF': not a Unicode "
                    "scalar value");
}

static void test_mixed_arrays(void **state)
{
        (void)state;
        check_error("a = [1, \"x\"]\n",
                    "t.toml:1: key 'a': array mixes types integer and string (all elements must "
                    "have the same type)");
        check_error("a = [\n  [1],\n  2,\n]\n",
                    "t.toml:3: key 'a': array mixes types array and integer (all elements must "
                    "have the same type)");
        check_error("a = [[1], [true, 2]]\n",
                    "t.toml:1: key 'a[1]': array mixes types boolean and integer (all elements "
                    "must have the same type)");
}

/* A document of len bytes: "k = \"xxx...\"\n" padded with a comment. */
static char *make_doc(size_t len)
{
        char *doc = malloc(len + 1);
        assert_non_null(doc);
        memset(doc, 'x', len);
        memcpy(doc, "k = 1\n#", 7);
        doc[len] = '\0';
        return doc;
}

static void test_limit_input_size(void **state)
{
        struct toml_node *root = NULL;
        char *err = NULL;
        (void)state;

        char *doc = make_doc(TOML_MAX_INPUT);
        root = parse_ok_len(doc, TOML_MAX_INPUT);
        toml_free(root);
        root = NULL;
        free(doc);

        doc = make_doc(TOML_MAX_INPUT + 1);
        assert_int_equal(toml_parse(doc, TOML_MAX_INPUT + 1, "big.toml", &root, &err), -EINVAL);
        assert_null(root);
        assert_string_equal(err, "big.toml: input is larger than 1048576 bytes");
        free(err);
        free(doc);
}

static void test_limit_depth(void **state)
{
        (void)state;
        struct toml_node *root = parse_ok("a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p = 1\n"
                                          "[A.B.C.D.E.F.G.H.I.J.K.L.M.N.O.P]\n"
                                          "[x.y.z]\n"
                                          "a.b.c.d.e.f.g.h.i.j.k.l.m = 1\n"
                                          "arr.b.c.d.e.f.g.h.i.j.k = [[1]]\n");
        const struct toml_node *n = root;
        for (const char *k = "abcdefghijklmnop"; *k; k++) {
                char key[2] = {*k, 0};
                n = toml_get(n, key);
                assert_non_null(n);
        }
        assert_int_equal(n->type, TOML_INTEGER);
        toml_free(root);

        check_error("a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q = 1\n",
                    "t.toml:1: key is nested more than 16 levels deep");
        check_error("[a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q]\n",
                    "t.toml:1: key is nested more than 16 levels deep");
        check_error("[a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p]\nq = 1\n",
                    "t.toml:2: key is nested more than 16 levels deep");
        check_error("[a.b.c.d.e.f.g.h]\ni.j.k.l.m.n.o.p.q = 1\n",
                    "t.toml:2: key is nested more than 16 levels deep");
        check_error("a = [[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]\n",
                    "t.toml:1: key 'a[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]': arrays "
                    "nested too deep (limit 16 levels)");
        check_error("a.b.c.d.e.f.g.h.i.j.k.l.m.n.o = [[1]]\n",
                    "t.toml:1: key 'a.b.c.d.e.f.g.h.i.j.k.l.m.n.o[0]': arrays nested too deep "
                    "(limit 16 levels)");

        /* Deep nesting stays an error, not a stack overflow. */
        size_t len = 100000;
        char *doc = malloc(len + 5);
        assert_non_null(doc);
        memcpy(doc, "a = ", 4);
        memset(doc + 4, '[', len);
        doc[len + 4] = '\0';
        check_error(doc, "t.toml:1: key 'a[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]': arrays "
                         "nested too deep (limit 16 levels)");
        free(doc);
}

static void test_limit_array_length(void **state)
{
        (void)state;
        size_t cap = 8 + 2 * (TOML_MAX_ARRAY + 1) + 2;
        char *doc = malloc(cap);
        assert_non_null(doc);

        for (int n = TOML_MAX_ARRAY; n <= TOML_MAX_ARRAY + 1; n++) {
                size_t pos = 0;
                memcpy(doc, "a = [", 5);
                pos = 5;
                for (int i = 0; i < n; i++) {
                        doc[pos++] = '1';
                        doc[pos++] = ',';
                }
                doc[pos++] = ']';
                doc[pos] = '\0';
                if (n == TOML_MAX_ARRAY) {
                        struct toml_node *root = parse_ok(doc);
                        assert_int_equal(get(root, "a", TOML_ARRAY)->n_items, TOML_MAX_ARRAY);
                        toml_free(root);
                } else {
                        check_error(doc, "t.toml:1: key 'a': array has more than 4096 elements");
                }
        }
        free(doc);
}

static void test_limit_string_length(void **state)
{
        (void)state;
        size_t cap = TOML_MAX_STRING * 6 + 16;
        char *doc = malloc(cap);
        assert_non_null(doc);

        /* Exactly the limit, written raw, then as escapes that decode to it. */
        memcpy(doc, "a = \"", 5);
        memset(doc + 5, 'x', TOML_MAX_STRING);
        strcpy(doc + 5 + TOML_MAX_STRING, "\"\n");
        struct toml_node *root = parse_ok(doc);
        assert_int_equal(strlen(get(root, "a", TOML_STRING)->string), TOML_MAX_STRING);
        toml_free(root);

        strcpy(doc + 5 + TOML_MAX_STRING, "y\"\n");
        check_error(doc, "t.toml:1: key 'a': string is longer than 65536 bytes");

        doc[0] = '\'';
        memcpy(doc, "a = '", 5);
        strcpy(doc + 5 + TOML_MAX_STRING, "y'\n");
        check_error(doc, "t.toml:1: key 'a': string is longer than 65536 bytes");

        size_t pos = 5;
        memcpy(doc, "a = \"", 5);
        for (int i = 0; i < TOML_MAX_STRING / 2 + 1; i++) {
                memcpy(doc + pos, "\\u00e9", 6);
                pos += 6;
        }
        strcpy(doc + pos, "\"\n");
        check_error(doc, "t.toml:1: key 'a': string is longer than 65536 bytes");

        /* Keys have the same limit, quoted or bare. */
        memset(doc, 'k', TOML_MAX_STRING + 1);
        strcpy(doc + TOML_MAX_STRING + 1, " = 1\n");
        check_error(doc, "t.toml:1: key is longer than 65536 bytes");
        doc[0] = '"';
        strcpy(doc + TOML_MAX_STRING + 2, "\" = 1\n");
        check_error(doc, "t.toml:1: string is longer than 65536 bytes");
        free(doc);
}

static void test_many_keys_is_fast(void **state)
{
        (void)state;
        /* About a MiB of distinct keys: quadratic lookups would take minutes. */
        size_t n = 70000, cap = n * 16 + 32, pos = 0;
        char *doc = malloc(cap);
        assert_non_null(doc);
        for (size_t i = 0; i < n; i++)
                pos += (size_t)snprintf(doc + pos, cap - pos, "k%zu = %zu\n", i, i);
        struct toml_node *root = parse_ok_len(doc, pos);
        assert_int_equal(root->n_items, n);
        assert_int_equal(get(root, "k69999", TOML_INTEGER)->integer, 69999);
        assert_int_equal(get(root, "k0", TOML_INTEGER)->line, 1);
        toml_free(root);

        strcpy(doc + pos, "k4242 = 0\n");
        char expected[128];
        snprintf(expected, sizeof(expected),
                 "t.toml:%zu: key 'k4242': duplicate key (first defined on line 4243)", n + 1);
        check_error(doc, expected);
        free(doc);
}

static void test_source_name_in_errors(void **state)
{
        struct toml_node *root = NULL;
        char *err = NULL;
        (void)state;
        assert_int_equal(toml_parse("x", 1, "/etc/brig/brig.conf", &root, &err), -EINVAL);
        assert_string_equal(err,
                            "/etc/brig/brig.conf:1: expected '=' after key, found end of file");
        free(err);
}

static void test_path_quoting(void **state)
{
        struct toml_node *root = parse_ok("[\"a.b\".'c d'.\"\\\"q\\\\\".\"\\t\".e-f_1]\n"
                                          "x = [[\"v\"]]\n");
        (void)state;
        const struct toml_node *n = root;
        while (n->n_items > 0)
                n = n->items[0];
        check_path(n, "\"a.b\".\"c d\".\"\\\"q\\\\\".\"\\t\".e-f_1.x[0][0]");
        toml_free(root);
}

static char *write_string(const char *s, int *ret)
{
        char *buf = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&buf, &size);
        assert_non_null(f);
        *ret = toml_write_string(f, s);
        assert_int_equal(fclose(f), 0);
        return buf;
}

static void test_write_string(void **state)
{
        static const struct {
                const char *in;
                const char *out;
        } cases[] = {
            {"", "\"\""},
            {"plain", "\"plain\""},
            {"q\"b\\", "\"q\\\"b\\\\\""},
            {"\b\t\n\f\r", "\"\\b\\t\\n\\f\\r\""},
            {"\x01\x1f\x7f", "\"\\u0001\\u001F\\u007F\""},
            {"\xc3\xa9\xf0\x9f\x98\x80", "\"\xc3\xa9\xf0\x9f\x98\x80\""},
            {"'single'", "\"'single'\""},
        };
        int r;
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
                char *out = write_string(cases[i].in, &r);
                assert_int_equal(r, 0);
                assert_string_equal(out, cases[i].out);

                /* What is written reads back as the original. */
                char *doc = NULL;
                assert_true(asprintf(&doc, "v = %s\n", out) > 0);
                struct toml_node *root = parse_ok(doc);
                assert_string_equal(get(root, "v", TOML_STRING)->string, cases[i].in);
                toml_free(root);
                free(doc);
                free(out);
        }

        char *out = write_string("bad \xff", &r);
        assert_int_equal(r, -EINVAL);
        assert_string_equal(out, "");
        free(out);
}

static void test_write_string_error(void **state)
{
        (void)state;
        FILE *f = fopen("/dev/full", "w");
        assert_non_null(f);
        setvbuf(f, NULL, _IONBF, 0);
        assert_int_equal(toml_write_string(f, "x"), -EIO);
        fclose(f);
}

static void test_utf8_valid(void **state)
{
        static const char *const good[] = {
            "",
            "ascii",
            "\xc2\x80",
            "\xdf\xbf",
            "\xe0\xa0\x80",
            "\xed\x9f\xbf",
            "\xee\x80\x80",
            "\xef\xbf\xbf",
            "\xf0\x90\x80\x80",
            "\xf4\x8f\xbf\xbf",
        };
        static const char *const bad[] = {
            "\x80",
            "\xc0\x80",
            "\xc1\xbf",
            "\xc2",
            "\xe0\x80\x80",
            "\xe0\x9f\xbf",
            "\xed\xa0\x80",
            "\xed\xbf\xbf",
            "\xf0\x80\x80\x80",
            "\xf0\x8f\xbf\xbf",
            "\xf4\x90\x80\x80",
            "\xf5\x80\x80\x80",
            "\xff",
            "\xe2\x82",
            "a\xc2z",
            "\xe2\x28\xa1",
        };
        (void)state;
        for (size_t i = 0; i < ARRAY_SIZE(good); i++)
                assert_true(toml_utf8_valid(good[i], strlen(good[i])));
        for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
                assert_false(toml_utf8_valid(bad[i], strlen(bad[i])));
        assert_true(toml_utf8_valid("a\0b", 3));
}

static void test_type_names(void **state)
{
        (void)state;
        assert_string_equal(toml_type_to_string(TOML_TABLE), "table");
        assert_string_equal(toml_type_to_string(TOML_ARRAY), "array");
        assert_string_equal(toml_type_to_string(TOML_STRING), "string");
        assert_string_equal(toml_type_to_string(TOML_INTEGER), "integer");
        assert_string_equal(toml_type_to_string(TOML_BOOLEAN), "boolean");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_empty_documents),
            cmocka_unit_test(test_null_buffer),
            cmocka_unit_test(test_keys),
            cmocka_unit_test(test_dotted_keys),
            cmocka_unit_test(test_tables),
            cmocka_unit_test(test_subtable_of_dotted_table),
            cmocka_unit_test(test_strings),
            cmocka_unit_test(test_integers),
            cmocka_unit_test(test_booleans),
            cmocka_unit_test(test_arrays),
            cmocka_unit_test(test_line_numbers_after_arrays),
            cmocka_unit_test(test_duplicates_and_redefinitions),
            cmocka_unit_test(test_table_and_value),
            cmocka_unit_test(test_input_errors),
            cmocka_unit_test(test_control_characters),
            cmocka_unit_test(test_line_structure_errors),
            cmocka_unit_test(test_empty_keys),
            cmocka_unit_test(test_unterminated),
            cmocka_unit_test(test_unsupported),
            cmocka_unit_test(test_arrays_of_tables),
            cmocka_unit_test(test_inline_tables),
            cmocka_unit_test(test_inline_and_array_of_tables_errors),
            cmocka_unit_test(test_limits_of_tables),
            cmocka_unit_test(test_invalid_integers),
            cmocka_unit_test(test_invalid_escapes),
            cmocka_unit_test(test_mixed_arrays),
            cmocka_unit_test(test_limit_input_size),
            cmocka_unit_test(test_limit_depth),
            cmocka_unit_test(test_limit_array_length),
            cmocka_unit_test(test_limit_string_length),
            cmocka_unit_test(test_many_keys_is_fast),
            cmocka_unit_test(test_source_name_in_errors),
            cmocka_unit_test(test_path_quoting),
            cmocka_unit_test(test_write_string),
            cmocka_unit_test(test_write_string_error),
            cmocka_unit_test(test_utf8_valid),
            cmocka_unit_test(test_type_names),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
