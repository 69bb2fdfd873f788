// Package proto defines the messages between the manager and the host
// agents. In simulation they are Go values the simulator delivers; in
// production the daemons encode them as JSON over mutual TLS. Every
// manager→agent command carries the manager's epoch (a fencing token) and an
// operation ID that makes retries idempotent.
package proto

import (
	"fmt"
	"strconv"
	"time"

	"github.com/basalt-ha/basalt/core/lrm"
)

// Epoch is the manager's fencing token. A manager increments it on every
// start; agents refuse commands carrying a lower one than they have seen.
type Epoch uint64

// OpID identifies one command from one manager. The manager allocates them
// in increasing order within an epoch; (Epoch, OpID) is unique.
type OpID uint64

// Message is anything sent between manager and agents.
type Message interface {
	// Describe renders the message on one line for traces.
	Describe() string
}

// Exec asks an agent to run a resource operation through its LRM,
// registering the resource first when needed.
type Exec struct {
	Epoch    Epoch
	Op       OpID
	Resource lrm.Resource
	Request  lrm.OpRequest
}

// Describe implements Message.
func (m Exec) Describe() string {
	var buf [describeBuf]byte // on the stack: the string is the one allocation
	return string(m.AppendDescribe(buf[:0]))
}

// AppendDescribe appends Describe's text to b (see Describer).
func (m Exec) AppendDescribe(b []byte) []byte {
	b = appendEpochOp(append(b, "exec"...), m.Epoch, m.Op)
	b = append(append(append(b, ' '), m.Resource.ID...), ' ')
	return m.Request.Key().Append(b)
}

// Cancel asks an agent to stop a recurring operation.
type Cancel struct {
	Epoch    Epoch
	Op       OpID
	Resource string
	Key      lrm.OpKey
	// Setup is the op of this epoch's Exec that set up the operation the
	// cancel means; 0: whichever runs at Key. An agent ends the operation
	// only if that setup is the one running: cancels went by key alone, and
	// one that reached the agent after a newer setup of the same key ended
	// the newer monitor, which the manager wanted. Only agents whose Hello
	// says CancelsBySetup are sent one: an older agent refuses the field.
	Setup OpID `json:",omitempty"`
}

// Describe implements Message.
func (m Cancel) Describe() string {
	var buf [describeBuf]byte // on the stack: the string is the one allocation
	return string(m.AppendDescribe(buf[:0]))
}

// AppendDescribe appends Describe's text to b (see Describer).
func (m Cancel) AppendDescribe(b []byte) []byte {
	b = appendEpochOp(append(b, "cancel"...), m.Epoch, m.Op)
	b = m.Key.Append(append(append(append(b, ' '), m.Resource...), ' '))
	if m.Setup != 0 {
		b = strconv.AppendUint(append(b, " setup="...), uint64(m.Setup), 10)
	}
	return b
}

// FenceAction is what a fence device is asked to do.
type FenceAction string

// Fence actions.
const (
	FenceOff    FenceAction = "off"
	FenceOn     FenceAction = "on"
	FenceReboot FenceAction = "reboot"
	FenceStatus FenceAction = "status"
	// FenceMonitor checks that the device itself answers (it fences nothing).
	FenceMonitor FenceAction = "monitor"
)

// FenceExec asks an agent to run a fence device's agent against a target.
type FenceExec struct {
	Epoch  Epoch
	Op     OpID
	Device string
	// Agent is the fence agent's file name (fence_ipmilan); the agent
	// daemon looks it up in its fence agent directory.
	Agent  string
	Params map[string]string
	Action FenceAction
	Target string
	Plug   string
	// Timeout bounds the fence agent's run.
	Timeout time.Duration
}

// Describe implements Message.
func (m FenceExec) Describe() string {
	var buf [describeBuf]byte // on the stack: the string is the one allocation
	return string(m.AppendDescribe(buf[:0]))
}

// AppendDescribe appends Describe's text to b (see Describer).
func (m FenceExec) AppendDescribe(b []byte) []byte {
	b = appendEpochOp(append(b, "fence-exec"...), m.Epoch, m.Op)
	return appendFence(b, m.Device, m.Action, m.Target)
}

// appendFence appends " device=D action=A target=T", what a fence command
// and its result say of the fence.
func appendFence(b []byte, device string, action FenceAction, target string) []byte {
	b = append(append(b, " device="...), device...)
	b = append(append(b, " action="...), action...)
	return append(append(b, " target="...), target...)
}

// Hello is an agent's first message after (re)connecting: what it runs, so
// that a restarted manager or agent can adopt running resources.
type Hello struct {
	Host string
	// Epoch is the highest manager epoch the agent has seen.
	Epoch Epoch
	// Heartbeat is the interval the agent heartbeats at. An agent that
	// sets it adopts the cluster's from the manager's Welcome; one that
	// does not (a basalt-agent older than Welcome) is sent none, since it
	// would refuse a message it does not know.
	Heartbeat time.Duration `json:",omitempty"`
	// Lists is true when the agent lists the resources it knows in
	// Resources (and takes Forget); an older agent lists none, and is
	// never sent a Forget it would refuse.
	Lists bool `json:",omitempty"`
	// Resources are the IDs of the resources the agent knows: a manager
	// whose configuration no longer has one stops it as an orphan. IDs
	// only, to keep a large host's hello within a line: a stop runs with
	// the definition the agent keeps (core/agent's definition).
	Resources []string `json:",omitempty"`
	// Attrs is true when the agent takes the manager's Attributes (and
	// its tools send AttrUpdate); an older agent would refuse them.
	Attrs bool `json:",omitempty"`
	// HasAttrs is true when the agent holds a copy of attributes from an
	// earlier connection: the manager then sends its own even when it
	// holds none, so that the agent's stale copy is replaced.
	HasAttrs bool `json:",omitempty"`
	// Boot identifies the host's boot (Linux's boot_id; "" when unknown):
	// a hello from a new boot ends the host's transient attributes
	// (lifetime reboot), as a reboot ends them in Pacemaker.
	Boot string `json:",omitempty"`
	// CancelsBySetup is true when the agent reads Cancel.Setup and cancels
	// only the setup it names. An older agent's Hello leaves it false, and
	// the manager names no setup to it: its decoder refuses unknown
	// fields, so a cancel naming one would not reach its LRM at all.
	CancelsBySetup bool `json:",omitempty"`
	// Instances is true when the agent takes a command's numbered clone
	// instance name (lrm.Resource.Instance, OCF_RESOURCE_INSTANCE id:N).
	// An older agent's decoder refuses the field, so the manager names no
	// instance to it: its clones run as id, as before numbering.
	Instances bool `json:",omitempty"`
	// Meta is true when the agent takes meta attributes in a command
	// (lrm.Resource.Meta, lrm.OpRequest.Meta: a clone instance's
	// CRM_meta_clone..., a notification's variables). An older agent's
	// decoder refuses those fields, so the manager sends it none, and no
	// notify at all: its notifications are skipped, logged.
	Meta bool `json:",omitempty"`
}

// Describe implements Message.
func (m Hello) Describe() string {
	if m.Heartbeat != 0 {
		return fmt.Sprintf("hello host=%s epoch=%d heartbeat=%s", m.Host, m.Epoch, m.Heartbeat)
	}
	return fmt.Sprintf("hello host=%s epoch=%d", m.Host, m.Epoch)
}

// Welcome is the manager's answer to an agent's Hello: the cluster's
// heartbeat interval and dead timeout. The agent heartbeats at that
// interval from then on, whatever it started with: two settings of one
// thing, the cluster's and the agent's flag, drifted apart and got a
// healthy host fenced (an agent at 4 s against a dead timeout of 3 s).
type Welcome struct {
	// Epoch is the sender's; an agent that has seen a higher one does not
	// take a superseded manager's timing.
	Epoch             Epoch
	HeartbeatInterval time.Duration
	// DeadTimeout is how long the manager waits for a heartbeat before it
	// declares the host lost: the agent checks that the interval keeps it
	// alive.
	DeadTimeout time.Duration
	// Attrs is true when the manager takes node attributes (AttrUpdate):
	// set only for an agent whose hello said it takes them, since an
	// older agent would refuse the field.
	Attrs bool `json:",omitempty"`
}

// Describe implements Message.
func (m Welcome) Describe() string {
	return fmt.Sprintf("welcome epoch=%d heartbeat=%s dead-timeout=%s", m.Epoch, m.HeartbeatInterval, m.DeadTimeout)
}

// Heartbeat tells the manager an agent is alive.
type Heartbeat struct {
	Host  string
	Epoch Epoch
	Seq   uint64
	// PersistError, when set, says the agent cannot persist its records
	// (its state directory is full or failing): it is alive, holds every
	// command until it can record it, and is not to be fenced for that.
	PersistError string `json:",omitempty"`
}

// Describe implements Message.
func (m Heartbeat) Describe() string {
	var buf [describeBuf]byte // on the stack: the string is the one allocation
	return string(m.AppendDescribe(buf[:0]))
}

// AppendDescribe appends Describe's text to b (see Describer).
func (m Heartbeat) AppendDescribe(b []byte) []byte {
	b = append(append(b, "heartbeat host="...), m.Host...)
	b = strconv.AppendUint(append(b, " epoch="...), uint64(m.Epoch), 10)
	b = strconv.AppendUint(append(b, " seq="...), m.Seq, 10)
	if m.PersistError != "" {
		b = strconv.AppendQuote(append(b, " cannot-persist="...), m.PersistError)
	}
	return b
}

// OpResult reports a resource operation's result. Op is the command that
// asked for it; for a recurring monitor every reported change carries the
// Op of the command that set the monitor up.
type OpResult struct {
	Host   string
	Epoch  Epoch
	Op     OpID
	Result lrm.Result
}

// Describe implements Message.
func (m OpResult) Describe() string {
	var buf [describeBuf]byte // on the stack: the string is the one allocation
	return string(m.AppendDescribe(buf[:0]))
}

// AppendDescribe appends Describe's text to b (see Describer).
func (m OpResult) AppendDescribe(b []byte) []byte {
	b = append(append(b, "op-result host="...), m.Host...)
	b = appendEpochOp(b, m.Epoch, m.Op)
	return m.Result.Append(append(b, ' '))
}

// Describer is implemented by the messages sent most often (heartbeats,
// commands, results, fence commands and results, refusals): AppendDescribe appends exactly Describe's text to a
// buffer, so that a trace built in one reused buffer (the simulator's,
// which describes every message it delivers) formats them without fmt and
// without a string per message. A test holds the two texts equal.
type Describer interface {
	AppendDescribe(b []byte) []byte
}

// describeBuf is the room Describe gives AppendDescribe on the stack:
// enough for nearly every message (a longer one grows on the heap).
// Describe made that way costs its string alone; fmt boxed every field.
const describeBuf = 192

// appendEpochOp appends " epoch=E op=O", the fields every command and
// result describes.
func appendEpochOp(b []byte, e Epoch, op OpID) []byte {
	b = strconv.AppendUint(append(b, " epoch="...), uint64(e), 10)
	return strconv.AppendUint(append(b, " op="...), uint64(op), 10)
}

// FenceResult reports a fence agent's run. RC follows the fence agent API:
// 0 success (for status: on), 2 for status: off, anything else failure.
type FenceResult struct {
	Host   string
	Epoch  Epoch
	Op     OpID
	Device string
	Action FenceAction
	Target string
	RC     int
	// Timeout is true when the agent was killed for running too long.
	Timeout bool
	Output  string
}

// Describe implements Message.
func (m FenceResult) Describe() string {
	var buf [describeBuf]byte // on the stack: the string is the one allocation
	return string(m.AppendDescribe(buf[:0]))
}

// AppendDescribe appends Describe's text to b (see Describer).
func (m FenceResult) AppendDescribe(b []byte) []byte {
	b = append(append(b, "fence-result host="...), m.Host...)
	b = appendFence(appendEpochOp(b, m.Epoch, m.Op), m.Device, m.Action, m.Target)
	b = strconv.AppendInt(append(b, " rc="...), int64(m.RC), 10)
	return strconv.AppendBool(append(b, " timeout="...), m.Timeout)
}

// Refused tells the manager a command was not carried out, and why (a
// stale epoch, an unknown resource, a full queue).
type Refused struct {
	Host   string
	Epoch  Epoch
	Op     OpID
	Reason string
	// Stale is true when the command's epoch was lower than one the agent
	// had seen: the sender has been superseded.
	Stale bool
}

// Describe implements Message.
func (m Refused) Describe() string {
	var buf [describeBuf]byte // on the stack: the string is the one allocation
	return string(m.AppendDescribe(buf[:0]))
}

// AppendDescribe appends Describe's text to b (see Describer).
func (m Refused) AppendDescribe(b []byte) []byte {
	b = appendEpochOp(append(append(b, "refused host="...), m.Host...), m.Epoch, m.Op)
	b = strconv.AppendBool(append(b, " stale="...), m.Stale)
	return strconv.AppendQuote(append(b, " reason="...), m.Reason) // fmt's %q
}

// Forget tells an agent to drop a resource it knows but the cluster no
// longer configures, once the manager knows it stopped there: the agent
// then stops listing it in its hello. An agent with operations of the
// resource still in hand keeps it (its next hello lists it again).
type Forget struct {
	Epoch    Epoch
	Op       OpID
	Resource string
}

// Describe implements Message.
func (m Forget) Describe() string {
	return fmt.Sprintf("forget epoch=%d op=%d %s", m.Epoch, m.Op, m.Resource)
}

// Goodbye is an agent's last message when it stops cleanly (SIGTERM, a
// restart by its service manager): the host is not lost, its agent is
// coming back. The manager gives such a host a grace before it declares it
// lost (core/manager); the resources keep running meanwhile.
type Goodbye struct {
	Host string
	// Epoch is the highest manager epoch the agent has seen.
	Epoch Epoch
}

// Describe implements Message.
func (m Goodbye) Describe() string { return fmt.Sprintf("goodbye host=%s epoch=%d", m.Host, m.Epoch) }
