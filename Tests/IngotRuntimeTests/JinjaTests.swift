// The Jinja interpreter of chat templates: each construct against the output of Python's
// jinja2 3.1 (trim_blocks and lstrip_blocks on, as transformers renders), errors naming the
// template line and column, and what must not fire (undefined names in untaken branches).
// Qwen2.5's real template (Fixtures/reference/zoo/qwen2.5-0.5b/chat_template.jinja) with a
// system message, multi-turn, tools and tool calls, against jinja2 with transformers' tojson.
import Foundation
import XCTest
import IngotCore
import IngotImport
import IngotTestSupport
@testable import IngotRuntime

final class JinjaTests: XCTestCase {
    let messages = JinjaValue.list([
        .dict(JinjaDict([("role", .string("system")), ("content", .string("Be brief."))])),
        .dict(JinjaDict([("role", .string("user")), ("content", .string(" Hi there "))])),
        .dict(JinjaDict([("role", .string("assistant")), ("content", .string("Hello!"))])),
    ])

    func render(_ source: String, _ extra: [String: JinjaValue] = [:]) throws -> String {
        var variables: [String: JinjaValue] = ["messages": messages]
        for (k, v) in extra { variables[k] = v }
        return try JinjaTemplate(source).render(variables)
    }

    func error(_ source: String, _ extra: [String: JinjaValue] = [:]) -> IngotError? {
        do {
            _ = try render(source, extra)
            return nil
        } catch {
            return error as? IngotError
        }
    }

    func testForLoopVariables() throws {
        XCTAssertEqual(try render("{% for m in messages %}{{ loop.index0 }}{{ loop.index }}{% if loop.first %}F{% endif %}{% if loop.last %}L{% endif %}:{{ m.role }}|{% endfor %}"),
                       "01F:system|12:user|23L:assistant|")
        XCTAssertEqual(try render("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}{% for x in [] %}x{% else %}empty{% endfor %}{% for x in [1,2,3,4] if x is even %}{{ x }}{% endfor %}"),
                       "a=1;b=2;empty24")
        XCTAssertEqual(try render("{% for m in messages %}{{ loop.length }}{{ loop.revindex0 }}{% endfor %}"), "323130")
    }

    func testIfElifElse() throws {
        XCTAssertEqual(try render("{% if x == 1 %}one{% elif x == 2 %}two{% else %}other{% endif %}", ["x": .int(2)]), "two")
        XCTAssertEqual(try render("{% if x == 1 %}one{% elif x == 2 %}two{% else %}other{% endif %}", ["x": .int(5)]), "other")
        XCTAssertEqual(try render("{% if x == 1 %}one{% endif %}", ["x": .int(5)]), "")
    }

    func testSetAndNamespaceScoping() throws {
        XCTAssertEqual(try render("{% set ns = namespace(n=0, seen=false) %}{% for m in messages %}{% set ns.n = ns.n + 1 %}{% set local = 5 %}{% endfor %}{{ ns.n }} {{ ns.seen }} {{ local is defined }}"),
                       "3 False False")
        XCTAssertEqual(try render("{% set greeting = 'hi' ~ '!' %}{{ greeting }}"), "hi!")
    }

    func testExpressions() throws {
        XCTAssertEqual(try render("{{ 'a' ~ 1 ~ none }} {{ 'x' + 'y' }} {{ 1 + 2 * 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ 1 / 2 }} {{ 2.0 }}"),
                       "a1None xy 7 3 -4 1 0.5 2.0")
        XCTAssertEqual(try render("{{ 'ell' in 'hello' }} {{ 'b' in ['a', 'b'] }} {{ 'k' in {'k': 1} }} {{ 'z' not in 'abc' }} {{ not true }} {{ true and 'yes' }} {{ false or 'fallback' }}"),
                       "True True True True False yes fallback")
        XCTAssertEqual(try render("{{ messages[0]['content'] }} {{ messages[-1].content }} {{ messages[1:] | length }} {{ 'hello'[1:3] }} {{ [1,2,3][::-1] }}"),
                       "Be brief. Hello! 2 el [3, 2, 1]")
        XCTAssertEqual(try render("{{ 'yes' if 1 > 0 else 'no' }} {{ 'yes' if 0 > 1 else 'no' }} {{ [1, 2] + [3] }} {{ 1 != 2 }} {{ 'a' == 'a' }}"),
                       "yes no [1, 2, 3] True True")
    }

    func testFiltersAndStringMethods() throws {
        XCTAssertEqual(try render("{{ '  pad  ' | trim }}|{{ 'MiXed' | upper }}|{{ 'MiXed' | lower }}|{{ messages | length }}|{{ 'abc' | length }}"),
                       "pad|MIXED|mixed|3|3")
        // transformers' tojson: keys in order, no HTML escaping.
        XCTAssertEqual(try render("{{ {'name': 'f<x>', 'args': {'x': [1, 2.5, true, none]}, 'q': 'say \"hi\"\\n'} | tojson }}"),
                       "{\"name\": \"f<x>\", \"args\": {\"x\": [1, 2.5, true, null]}, \"q\": \"say \\\"hi\\\"\\n\"}")
        XCTAssertEqual(try render("{{ 'abc'.startswith('ab') }} {{ 'abc'.endswith('bc') }} {{ '  s  '.strip() }} {{ 'xxsxx'.strip('x') }} {{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} {{ 'aXbX'.replace('X', '-') }} {{ 'Hi'.upper() }}{{ 'Hi'.lower() }}"),
                       "True True s s ['a', 'b', '', 'c'] ['a', 'b'] a-b- HIhi")
        XCTAssertEqual(try render("{{ bos_token }}{% for m in messages %}{{ m.role | upper }}{% endfor %}{% if add_generation_prompt %}GEN{% endif %}",
                                  ["bos_token": .string("<s>"), "add_generation_prompt": .bool(true)]),
                       "<s>SYSTEMUSERASSISTANTGEN")
    }

    func testWhitespaceControlCommentsTrimAndLstripBlocks() throws {
        XCTAssertEqual(try render("a\n  {%- if true -%}\n  b\n  {%- endif -%}\n  c{# comment #}d {#- trimmed -#} e"), "abcde")
        XCTAssertEqual(try render("<ul>\n  {% for i in [1, 2] %}\n    <li>{{ i }}</li>\n  {% endfor %}\n</ul>\n"),
                       "<ul>\n    <li>1</li>\n    <li>2</li>\n</ul>")
        XCTAssertEqual(try render("{{ 'x' }}\n{{ 'y' }}"), "x\ny", "no trimming after {{ }}")
    }

    func testTestsAndUndefinedValues() throws {
        XCTAssertEqual(try render("{{ tools is defined }} {{ none is none }} {{ 'x' is string }} {{ 1 is string }} {{ x is not defined }} {% if tools %}T{% else %}no tools{% endif %}"),
                       "False True True False True no tools")
        // Must not fire: undefined names, their attributes and raise_exception in untaken branches.
        XCTAssertEqual(try render("{% if false %}{{ undefined_thing.attr.deeper }}{{ raise_exception('nope') }}{% endif %}ok{{ missing }}|{{ missing is defined }}"),
                       "ok|False")
        XCTAssertEqual(try render("{% for t in tools %}{{ t.name.first }}{% endfor %}{{ messages[0].tool_calls is defined }}"), "False")
        XCTAssertEqual(try render("{{ 'a' | frobnicate if false else 'fine' }}"), "fine")
    }

    func testErrorsNameLineAndColumn() {
        let unclosed = error("Hello\n{% if x %}\nunclosed")
        XCTAssertEqual(unclosed?.kind, .format)
        XCTAssertEqual(unclosed?.location, "tokenizer.chat_template line 3 column 9")
        XCTAssertEqual(unclosed?.message, "end of template, expected {% endif %}")
        XCTAssertEqual(error("{{ 1 + }}")?.location, "tokenizer.chat_template line 1 column 8")
        XCTAssertEqual(error("{{ 1 + }}")?.message, "expected a value, saw the end of the tag")
        let macro = error("ok\n  {% macro m() %}{% endmacro %}")
        XCTAssertEqual(macro?.location, "tokenizer.chat_template line 2 column 6")
        XCTAssertTrue(macro?.message.contains("unsupported statement 'macro'") ?? false)
        XCTAssertEqual(error("{% endif %}")?.message, "unexpected {% endif %}")
        XCTAssertEqual(error("{% for x in %}{% endfor %}")?.message, "expected a value, saw the end of the tag")
        XCTAssertEqual(error("{{ 'abc }}")?.message, "string not closed, expected '")
        XCTAssertEqual(error("a\n{{ x")?.message, "tag not closed, expected }}")
        XCTAssertEqual(error("a\n{{ x")?.location, "tokenizer.chat_template line 2 column 1")
        let attribute = error("\n\n   {{ nothing.role }}")
        XCTAssertEqual(attribute?.location, "tokenizer.chat_template line 3 column 15")
        XCTAssertEqual(attribute?.message, "'nothing' is undefined, cannot read its attribute 'role'")
        XCTAssertEqual(error("{{ 'a' | frobnicate }}")?.message, "unknown filter 'frobnicate'")
        XCTAssertEqual(error("{{ 'a' - 1 }}")?.message, "cannot apply '-' to string and integer")
        let raised = error("{% if messages[0].role != 'user' %}\n{{ raise_exception('Conversation must start with user') }}{% endif %}")
        XCTAssertEqual(raised?.kind, .invalidArgument)
        XCTAssertEqual(raised?.message, "the template raised: Conversation must start with user")
        XCTAssertEqual(raised?.location, "tokenizer.chat_template line 2 column 19")
    }

    func testHostileTemplatesStopWithAnError() {
        XCTAssertEqual(error("{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}")?.message,
                       "more than 200000 evaluation steps")
        XCTAssertNotNil(error(String(repeating: "{% if true %}", count: 300)))
        XCTAssertNotNil(error("{{ " + String(repeating: "(", count: 300) + "1" + String(repeating: ")", count: 300) + " }}"))
        XCTAssertNotNil(error("{{ 'x' * 100000000 }}"))
    }

    // MARK: Qwen2.5's template (rendered by jinja2 with transformers' tojson)

    func qwen() throws -> JinjaTemplate {
        let url = try referenceFile("zoo/qwen2.5-0.5b/chat_template.jinja")
        return try JinjaTemplate(try String(contentsOf: url, encoding: .utf8))
    }

    func variables(_ json: String) throws -> [String: JinjaValue] {
        guard case .dict(let d) = JinjaValue(json: try JSONValue.parse(Array(json.utf8))) else {
            XCTFail("the test's JSON is not an object: \(json)")
            return [:]
        }
        var out: [String: JinjaValue] = [:]
        for k in d.keys { out[k] = d[k] }
        return out
    }

    func testQwenTemplateWithSystemMessageAndTurns() throws {
        let v = try variables("""
            {"messages": [{"role": "system", "content": "Answer in French."}, {"role": "user", "content": "Hi"},
             {"role": "assistant", "content": "Bonjour"}, {"role": "user", "content": "Bye"}], "add_generation_prompt": true}
            """)
        XCTAssertEqual(try qwen().render(v),
                       "<|im_start|>system\nAnswer in French.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\nBonjour<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n<|im_start|>assistant\n")
    }

    func testQwenTemplateWithToolsAndToolCalls() throws {
        let v = try variables("""
            {"messages": [{"role": "user", "content": "Weather?"},
              {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Paris"}}}]},
              {"role": "tool", "content": "18C"}, {"role": "tool", "content": "sunny"}],
             "tools": [{"type": "function", "function": {"name": "get_weather", "parameters": {"city": "string"}}}],
             "add_generation_prompt": false}
            """)
        let expected = "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>\n{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"city\": \"string\"}}}\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n<|im_start|>user\nWeather?<|im_end|>\n<|im_start|>assistant\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call><|im_end|>\n<|im_start|>user\n<tool_response>\n18C\n</tool_response>\n<tool_response>\nsunny\n</tool_response><|im_end|>\n"
        XCTAssertEqual(try qwen().render(v), expected)
    }

    /// The built-in Gemma template (GGUFTokenizer.gemmaTemplate) folds a system message into
    /// the first turn and calls the assistant "model" (expected text from jinja2).
    func testBuiltInGemmaTemplate() throws {
        let template = try JinjaTemplate(GGUFTokenizer.gemmaTemplate)
        let v = try variables("""
            {"messages": [{"role": "system", "content": "Be nice."}, {"role": "user", "content": " Hi "},
             {"role": "assistant", "content": "Hello"}], "bos_token": "<bos>", "add_generation_prompt": false}
            """)
        XCTAssertEqual(try template.render(v), "<bos><start_of_turn>user\nBe nice.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello<end_of_turn>\n")
    }
}
