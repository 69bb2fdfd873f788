package attrtools

import (
	"bytes"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func envOf(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// The command lines Debian's resource agents run (resource-agents and
// pacemaker-resource-agents, their variables filled in), each with the
// request it must become. grep -rn 'crm_attribute\|crm_master\|
// attrd_updater\|crm_node' /usr/lib/ocf finds them.
func TestParseTheAgentsCommandLines(t *testing.T) {
	stateful := envOf("OCF_RESOURCE_INSTANCE", "db:1")
	plain := envOf()
	for _, c := range []struct {
		from string // the agent it comes from
		line string
		env  func(string) string
		want Request
		out  Output
		q    bool
	}{
		{"pacemaker/Stateful", `crm_attribute --promotion -v 10`, stateful,
			Request{Op: OpSet, Name: "master-db", Value: "10", Lifetime: "reboot", By: "crm_attribute (db:1)"}, PrintNothing, false},
		{"pacemaker/Stateful", `crm_attribute --promotion -D`, stateful,
			Request{Op: OpDelete, Name: "master-db", Lifetime: "reboot", By: "crm_attribute (db:1)"}, PrintNothing, false},
		{"ocf-shellfuncs ocf_promotion_score", `crm_attribute -p -v 5 -l reboot`, stateful,
			Request{Op: OpSet, Name: "master-db", Value: "5", Lifetime: "reboot", By: "crm_attribute (db:1)"}, PrintNothing, false},
		{"ocf-shellfuncs ocf_promotion_score", `crm_master -l reboot -v 5`, stateful,
			Request{Op: OpSet, Name: "master-db", Value: "5", Lifetime: "reboot", By: "crm_master (db:1)"}, PrintNothing, false},
		{"heartbeat/mysql", `crm_master -v 100 -l reboot`, stateful,
			Request{Op: OpSet, Name: "master-db", Value: "100", Lifetime: "reboot", By: "crm_master (db:1)"}, PrintNothing, false},
		{"heartbeat/pgsql", `crm_master -Q -l reboot -v 1000`, stateful,
			Request{Op: OpSet, Name: "master-db", Value: "1000", Lifetime: "reboot", By: "crm_master (db:1)"}, PrintNothing, true},
		{"heartbeat/SAPInstance", `crm_master -v INFINITY -l reboot`, stateful,
			Request{Op: OpSet, Name: "master-db", Value: "INFINITY", Lifetime: "reboot", By: "crm_master (db:1)"}, PrintNothing, false},
		{"heartbeat/galera crm_master_reboot", `crm_master -N h2 -l reboot -D`, stateful,
			Request{Op: OpDelete, Host: "h2", Name: "master-db", Lifetime: "reboot", By: "crm_master (db:1)"}, PrintNothing, false},
		{"heartbeat/galera crm_master_reboot", `crm_master -N h2 -l reboot -G --quiet`, stateful,
			Request{Op: OpQuery, Host: "h2", Name: "master-db", Lifetime: "reboot", By: "crm_master (db:1)"}, PrintCrmAttribute, true},
		{"heartbeat/SAPInstance", `crm_attribute -n runs_ers_HA1 -v 1 -l reboot`, plain,
			Request{Op: OpSet, Name: "runs_ers_HA1", Value: "1", Lifetime: "reboot", By: "crm_attribute"}, PrintNothing, false},
		{"heartbeat/galera", `crm_attribute -N h1 -l reboot --name galera-last-committed -v 42`, plain,
			Request{Op: OpSet, Host: "h1", Name: "galera-last-committed", Value: "42", Lifetime: "reboot", By: "crm_attribute"}, PrintNothing, false},
		{"heartbeat/galera", `crm_attribute -N h1 -l reboot --name galera-bootstrap --quiet`, plain,
			Request{Op: OpQuery, Host: "h1", Name: "galera-bootstrap", Lifetime: "reboot", By: "crm_attribute"}, PrintCrmAttribute, true},
		{"heartbeat/rabbitmq-cluster", `crm_attribute -N h1 -l forever --query --name rmq-node-attr-last-known -q`, plain,
			Request{Op: OpQuery, Host: "h1", Name: "rmq-node-attr-last-known", Lifetime: "forever", By: "crm_attribute"}, PrintCrmAttribute, true},
		{"heartbeat/rabbitmq-server-ha", `crm_attribute -N h1 -l reboot --name rabbit-start-time --update 1700000000`, plain,
			Request{Op: OpSet, Host: "h1", Name: "rabbit-start-time", Value: "1700000000", Lifetime: "reboot", By: "crm_attribute"}, PrintNothing, false},
		{"heartbeat/rabbitmq-server-ha", `crm_attribute -N h1 -l reboot --name rabbit-master --delete`, plain,
			Request{Op: OpDelete, Host: "h1", Name: "rabbit-master", Lifetime: "reboot", By: "crm_attribute"}, PrintNothing, false},
		{"heartbeat/redis", `crm_attribute --node h2 -l forever --name redis-tunnel-port --query -q`, plain,
			Request{Op: OpQuery, Host: "h2", Name: "redis-tunnel-port", Lifetime: "forever", By: "crm_attribute"}, PrintCrmAttribute, true},
		{"heartbeat/mpathpersist", `crm_attribute --lifetime=reboot --name=mpath-pending --node=h1`, plain,
			Request{Op: OpQuery, Host: "h1", Name: "mpath-pending", Lifetime: "reboot", By: "crm_attribute"}, PrintCrmAttribute, false},
		{"heartbeat/db2", `crm_attribute -l forever --node=h1 -n db2hadr_x_fal -v 12`, plain,
			Request{Op: OpSet, Host: "h1", Name: "db2hadr_x_fal", Value: "12", Lifetime: "forever", By: "crm_attribute"}, PrintNothing, false},
		{"heartbeat/db2", `crm_attribute -l forever -n db2hadr_x_fal -G --quiet`, plain,
			Request{Op: OpQuery, Name: "db2hadr_x_fal", Lifetime: "forever", By: "crm_attribute"}, PrintCrmAttribute, true},
		{"heartbeat/sg_persist", `crm_attribute --type nodes --node h1 -n sg_key -G -q`, plain,
			Request{Op: OpQuery, Host: "h1", Name: "sg_key", Lifetime: "forever", By: "crm_attribute"}, PrintCrmAttribute, true},
		{"pacemaker/ping", `attrd_updater -n pingd -v 1000 -d 5s`, plain,
			Request{Op: OpSet, Name: "pingd", Value: "1000", Lifetime: "reboot", By: "attrd_updater"}, PrintNothing, false},
		{"pacemaker/ping", `attrd_updater -n pingd -B 1000 -d 5s`, plain,
			Request{Op: OpSet, Name: "pingd", Value: "1000", Lifetime: "reboot", By: "attrd_updater"}, PrintNothing, false},
		{"pacemaker/ping", `attrd_updater -D -n pingd -d 5s`, plain,
			Request{Op: OpDelete, Name: "pingd", Lifetime: "reboot", By: "attrd_updater"}, PrintNothing, false},
		{"pacemaker/HealthCPU", `attrd_updater -n #health-cpu -U green -d 30s`, plain,
			Request{Op: OpSet, Name: "#health-cpu", Value: "green", Lifetime: "reboot", By: "attrd_updater"}, PrintNothing, false},
		{"pacemaker/SysInfo", `attrd_updater -d 0 -S status -n cpu_info -v x86_64`, plain,
			Request{Op: OpSet, Name: "cpu_info", Value: "x86_64", Lifetime: "reboot", By: "attrd_updater"}, PrintNothing, false},
		{"pacemaker/attribute", `attrd_updater -n opa-undef -Q`, plain,
			Request{Op: OpQuery, Name: "opa-undef", Lifetime: "reboot", By: "attrd_updater"}, PrintAttrd, false},
		{"heartbeat/openstack-info", `attrd_updater --query -n openstack_ports -N h1`, plain,
			Request{Op: OpQuery, Host: "h1", Name: "openstack_ports", Lifetime: "reboot", By: "attrd_updater"}, PrintAttrd, false},
		{"heartbeat/azure-events", `attrd_updater -p --name azure-events_globalPullState --node h1 --update IDLE`, plain,
			Request{Op: OpSet, Host: "h1", Name: "azure-events_globalPullState", Value: "IDLE", Lifetime: "reboot", By: "attrd_updater"}, PrintNothing, false},
		{"heartbeat/pgsql", `attrd_updater -p -n db-waiting-for-first-master -U true`, plain,
			Request{Op: OpSet, Name: "db-waiting-for-first-master", Value: "true", Lifetime: "reboot", By: "attrd_updater"}, PrintNothing, false},
		{"ocf-shellfuncs ocf_local_nodename", `crm_node -n`, plain, Request{Op: OpName}, PrintNodeName, false},
		{"heartbeat/galera", `crm_node -l`, plain, Request{Op: OpMembers}, PrintNodeList, false},
		{"heartbeat/rabbitmq-server-ha", `crm_node -p`, plain, Request{Op: OpMembers}, PrintPartition, false},
		{"grouped flags and attached values", `crm_attribute -qG -nsite -Nh1`, plain,
			Request{Op: OpQuery, Host: "h1", Name: "site", Lifetime: "forever", By: "crm_attribute"}, PrintCrmAttribute, true},
		{"promotion with its resource attached", `crm_attribute --promotion=web -G`, plain,
			Request{Op: OpQuery, Name: "master-web", Lifetime: "reboot", By: "crm_attribute"}, PrintCrmAttribute, false},
	} {
		args := strings.Fields(c.line)
		inv, err := Parse(args[0], args[1:], c.env)
		require.NoError(t, err, "%s: %s", c.from, c.line)
		require.Equal(t, c.want, inv.Req, "%s: %s", c.from, c.line)
		require.Equal(t, c.out, inv.Output, "%s: %s", c.from, c.line)
		require.Equal(t, c.q, inv.Quiet, "%s: %s", c.from, c.line)
	}
}

// What basalt does not do is refused with "not supported by basalt" and
// exit 3, naming the option as typed; a malformed line is a usage error
// (64).
func TestUnsupportedAndMalformed(t *testing.T) {
	never := func(Request) (Answer, error) { t.Fatal("asked the daemon"); return Answer{}, nil }
	for line, want := range map[string]string{
		`crm_attribute -t nodes --node h1 -z -n cpu -v 4`:               "crm_attribute: -z is not supported by basalt",
		`crm_attribute --utilization --node h1 -n cpu`:                  "crm_attribute: --utilization is not supported by basalt",
		`crm_attribute --type crm_config --name x_REPL_INFO -G`:         "crm_attribute: --type crm_config is not supported by basalt",
		`crm_attribute -n cluster-delay -G`:                             "crm_attribute: a cluster option (no --node, --lifetime or --promotion) is not supported by basalt",
		`crm_attribute --type crm_config --name x -s mysql_replication`: "crm_attribute: -s is not supported by basalt",
		`crm_attribute -n x -l reboot -P pat -D`:                        "crm_attribute: -P is not supported by basalt",
		`crm_master -i id1 -v 1`:                                        "crm_master: -i is not supported by basalt",
		`attrd_updater -R`:                                              "attrd_updater: -R is not supported by basalt",
		`attrd_updater -n x -Q -A`:                                      "attrd_updater: -A is not supported by basalt",
		`crm_node -q`:                                                   "crm_node: -q is not supported by basalt",
		`crm_node -i`:                                                   "crm_node: -i is not supported by basalt",
		`crm_attribute --frobnicate`:                                    "crm_attribute: --frobnicate is not supported by basalt",
	} {
		args := strings.Fields(line)
		var out, errb bytes.Buffer
		rc := Run(args[0], args[1:], envOf(), never, &out, &errb)
		require.Equal(t, ExitUnsupported, rc, line)
		require.Equal(t, want+"\n", errb.String(), line)
	}
	for line, want := range map[string]string{
		`crm_attribute -n`:                "-n needs a value",
		`crm_attribute -l sometimes -n x`: `-l "sometimes": want reboot or forever`,
		`crm_attribute -N h1 stray`:       `unexpected argument "stray"`,
		`crm_attribute -N h1`:             "an attribute name is required",
		`crm_attribute --promotion -v 1`:  "--promotion needs a resource",
		`crm_master -v 1`:                 "should normally only be invoked from inside an OCF resource agent",
		`attrd_updater -U 1`:              "an attribute name is required",
		`crm_node`:                        "a command is required",
	} {
		args := strings.Fields(line)
		var out, errb bytes.Buffer
		rc := Run(args[0], args[1:], envOf(), never, &out, &errb)
		require.Equal(t, ExitUsage, rc, line)
		require.Contains(t, errb.String(), want, line)
	}
}

// Answers print as the Pacemaker tools print them, with their exit codes.
func TestOutputs(t *testing.T) {
	run := func(line string, ans Answer, err error) (int, string, string) {
		args := strings.Fields(line)
		var out, errb bytes.Buffer
		rc := Run(args[0], args[1:], envOf("OCF_RESOURCE_INSTANCE", "db"), func(Request) (Answer, error) { return ans, err }, &out, &errb)
		return rc, out.String(), errb.String()
	}
	type res struct {
		rc       int
		out, err string
	}
	check := func(line string, ans Answer, err error, want res) {
		t.Helper()
		rc, out, errs := run(line, ans, err)
		require.Equal(t, want, res{rc, out, errs}, line)
	}
	check("crm_attribute -N h1 -l reboot -n x -G", Answer{Found: true, Value: "7", Host: "h1"}, nil,
		res{0, "scope=status  name=x value=7\n", ""})
	check("crm_attribute -N h1 -n x -G", Answer{Found: true, Value: "7", Host: "h1"}, nil,
		res{0, "scope=nodes  name=x value=7\n", ""})
	check("crm_attribute -N h1 -l reboot -n x -G -q", Answer{Found: true, Value: "7"}, nil, res{0, "7\n", ""})
	check("crm_attribute -N h1 -l reboot -n x -G", Answer{}, nil,
		res{105, "scope=status  name=x value=(null)\n", "crm_attribute: Error performing operation: No such device or address\n"})
	check("crm_attribute -N h1 -l reboot -n x -G -q", Answer{}, nil,
		res{105, "", "crm_attribute: Error performing operation: No such device or address\n"})
	check("crm_attribute -N h1 -l reboot -n x -G -q -d 0", Answer{}, nil, res{0, "0\n", ""})
	check("crm_master -l reboot -G", Answer{Found: true, Value: "5"}, nil, res{0, "scope=status  name=master-db value=5\n", ""})
	check("crm_attribute --promotion -v 10", Answer{}, nil, res{0, "", ""})
	check("crm_attribute --promotion -v 10", Answer{Queued: true}, nil,
		res{0, "", "crm_attribute: no manager is connected now; the change is queued and sent when one is\n"})
	check("crm_attribute --promotion -v 10", Answer{Error: "host h1 already holds 64 attributes"}, nil,
		res{1, "", "crm_attribute: Error performing operation: host h1 already holds 64 attributes\n"})
	check("attrd_updater -n pingd -Q", Answer{Found: true, Value: "1000", Host: "h1"}, nil, res{0, "name=\"pingd\" host=\"h1\" value=\"1000\"\n", ""})
	check("attrd_updater -n pingd -Q", Answer{Host: "h1"}, nil, res{105, "", "Could not query value of pingd: attribute does not exist\n"})
	check("attrd_updater -n pingd -Y -d 5s", Answer{}, nil, res{0, "", ""})
	check("crm_node -n", Answer{Host: "h1"}, nil, res{0, "h1\n", ""})
	members := []Member{{Name: "h1", Online: true}, {Name: "h2"}, {Name: "h3", Online: true}}
	check("crm_node -l", Answer{Members: members}, nil, res{0, "1 h1 member\n2 h2 lost\n3 h3 member\n", ""})
	check("crm_node -p", Answer{Members: members}, nil, res{0, "h1 h3\n", ""})
	rc, _, errs := run("crm_node -n", Answer{}, errTest)
	require.Equal(t, ExitDisconnect, rc)
	require.Contains(t, errs, "could not connect to basalt-agent")
}

type testErr string

func (e testErr) Error() string { return string(e) }

const errTest = testErr("dial unix /nowhere: no such file")
