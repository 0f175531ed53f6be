package wecomsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/siyuhq/siyu/shared/wecom"
)

// Moments, group message and media paths.
const (
	PathAddMomentTask       = "/cgi-bin/externalcontact/add_moment_task"
	PathGetMomentTaskResult = "/cgi-bin/externalcontact/get_moment_task_result"
	PathCancelMomentTask    = "/cgi-bin/externalcontact/cancel_moment_task"
	PathGetMomentList       = "/cgi-bin/externalcontact/get_moment_list"
	PathAddMsgTemplate      = "/cgi-bin/externalcontact/add_msg_template"
	PathGetGroupMsgListV2   = "/cgi-bin/externalcontact/get_groupmsg_list_v2"
	PathCancelGroupMsgSend  = "/cgi-bin/externalcontact/cancel_groupmsg_send"
	PathUploadAttachment    = "/cgi-bin/media/upload_attachment"
	PathUploadMedia         = "/cgi-bin/media/upload"
)

func init() {
	routes[PathAddMomentTask] = route{http.MethodPost, (*Sim).apiAddMomentTask}
	routes[PathGetMomentTaskResult] = route{http.MethodGet, (*Sim).apiGetMomentTaskResult}
	routes[PathCancelMomentTask] = route{http.MethodPost, (*Sim).apiCancelMomentTask}
	routes[PathGetMomentList] = route{http.MethodPost, (*Sim).apiGetMomentList}
	routes[PathAddMsgTemplate] = route{http.MethodPost, (*Sim).apiAddMsgTemplate}
	routes[PathGetGroupMsgListV2] = route{http.MethodPost, (*Sim).apiGetGroupMsgListV2}
	routes[PathCancelGroupMsgSend] = route{http.MethodPost, (*Sim).apiCancelGroupMsgSend}
	routes[PathUploadAttachment] = route{http.MethodPost, (*Sim).apiUploadAttachment}
	routes[PathUploadMedia] = route{http.MethodPost, (*Sim).apiUploadMedia}
}

// SimMoment is an enterprise Moment the simulator created.
type SimMoment struct {
	JobID       string
	MomentID    string
	CreateTime  time.Time
	Text        string
	Attachments []wecom.MomentAttachment
	Senders     []string
	Tags        []string
	Canceled    bool
}

type momentJob struct {
	id      string
	created time.Time
	moment  *SimMoment
	outcome wecom.MomentTaskOutcome
}

// posting is the simulator's Moments, group message and media state. It
// lives beside Sim (keyed by it) so the core simulator stays unaware of it;
// every access holds s.mu.
type posting struct {
	jobDelay time.Duration
	seq      int
	jobs     map[string]*momentJob
	moments  []*SimMoment
	msgs     []*SimGroupMsg
	media    map[string]mediaEntry
	drops    map[string]int
}

var postings sync.Map // *Sim → *posting

// posting returns s's state; callers hold s.mu.
func (s *Sim) posting() *posting {
	if p, ok := postings.Load(s); ok {
		return p.(*posting)
	}
	p := &posting{jobs: map[string]*momentJob{}, media: map[string]mediaEntry{}, drops: map[string]int{}}
	postings.Store(s, p)
	return p
}

func (p *posting) nextID(prefix string) string {
	p.seq++
	return fmt.Sprintf("%s%010d", prefix, p.seq)
}

// SetMomentJobDelay makes add_moment_task jobs finish d after creation on
// the simulator's clock (status 2 until then). The default is 0.
func (s *Sim) SetMomentJobDelay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.posting().jobDelay = d
}

// DropAnswers makes the next n calls to path do their work and then reset
// the connection instead of answering: the caller cannot tell whether
// WeCom accepted the call (a crash or timeout between the call and the
// caller's state write).
func (s *Sim) DropAnswers(path string, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.posting().drops[path] += n
}

// takeDrop reports whether this answer on path is to be dropped; callers
// hold s.mu.
func (s *Sim) takeDrop(path string) bool {
	p, ok := postings.Load(s)
	if !ok {
		return false
	}
	d := p.(*posting).drops
	if d[path] <= 0 {
		return false
	}
	d[path]--
	return true
}

// Moments returns the Moments created so far, oldest first.
func (s *Sim) Moments() []SimMoment {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []SimMoment
	for _, m := range s.posting().moments {
		out = append(out, *m)
	}
	return out
}

func checkText(content string, maxBytes int) *apiError {
	if len(content) > maxBytes || utf8.RuneCountInString(content) > wecom.MaxMomentTextChars || !utf8.ValidString(content) {
		return fail(wecom.CodeInvalidParameter, "invalid text size")
	}
	return nil
}

func (s *Sim) apiAddMomentTask(_ *http.Request, body []byte) (map[string]any, *apiError) {
	var req wecom.MomentTask
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fail(wecom.CodeInvalidParameter, "invalid json: %v", err)
	}
	text := ""
	if req.Text != nil {
		text = req.Text.Content
	}
	if text == "" && len(req.Attachments) == 0 {
		return nil, fail(41089, "text and attachments are both empty")
	}
	if e := checkText(text, wecom.MaxMomentTextBytes); e != nil {
		return nil, e
	}
	if e := s.checkMomentAttachments(req.Attachments); e != nil {
		return nil, e
	}
	if e := s.limit("moment#create", wecom.MomentTasksPerMinute); e != nil {
		return nil, e
	}
	p := s.posting()
	now := s.now()
	job := &momentJob{id: p.nextID("simjob"), created: now}
	var senders, tags []string
	var out wecom.MomentTaskOutcome
	if vr := req.VisibleRange; vr != nil {
		if sl := vr.SenderList; sl != nil {
			for _, u := range sl.UserList {
				if _, ok := s.st.members[u]; ok {
					senders = append(senders, u)
				} else {
					out.InvalidSenderList.UserList = append(out.InvalidSenderList.UserList, u)
				}
			}
			for _, d := range sl.DepartmentList {
				found := false
				for _, m := range s.st.members {
					if slices.Contains(m.Departments, d) {
						found = true
						senders = append(senders, m.UserID)
					}
				}
				if !found {
					out.InvalidSenderList.DepartmentList = append(out.InvalidSenderList.DepartmentList, d)
				}
			}
			if len(senders) == 0 {
				out.ErrCode, out.ErrMsg = wecom.CodeInvalidUserID, "no valid sender in visible_range.sender_list"
			}
		}
		if ec := vr.ExternalContactList; ec != nil {
			for _, t := range ec.TagList {
				if s.tagKnown(t) {
					tags = append(tags, t)
				} else {
					out.InvalidExternalContactList.TagList = append(out.InvalidExternalContactList.TagList, t)
				}
			}
			if len(ec.TagList) > 0 && len(tags) == 0 && out.ErrCode == 0 {
				out.ErrCode, out.ErrMsg = 40068, "invalid tagid: no valid tag in visible_range.external_contact_list"
			}
		}
	}
	if out.ErrCode == 0 {
		out.ErrMsg = "ok"
		job.moment = &SimMoment{JobID: job.id, MomentID: p.nextID("simmom"), CreateTime: now, Text: text,
			Attachments: req.Attachments, Senders: senders, Tags: tags}
		out.MomentID = job.moment.MomentID
		p.moments = append(p.moments, job.moment)
	}
	job.outcome = out
	p.jobs[job.id] = job
	return map[string]any{"jobid": job.id}, nil
}

func (s *Sim) checkMomentAttachments(atts []wecom.MomentAttachment) *apiError {
	kinds := map[string]int{}
	for _, a := range atts {
		kinds[a.MsgType]++
		var id string
		switch {
		case a.MsgType == "image" && a.Image != nil:
			id = a.Image.MediaID
		case a.MsgType == "video" && a.Video != nil:
			id = a.Video.MediaID
		case a.MsgType == "link" && a.Link != nil:
			if len(a.Link.Title) > wecom.MaxLinkTitleBytes || a.Link.URL == "" {
				return fail(wecom.CodeInvalidParameter, "invalid link")
			}
			id = a.Link.MediaID
		default:
			return fail(41065, "invalid attachments msgtype")
		}
		if e := s.checkMedia(id); e != nil {
			return e
		}
	}
	switch {
	case len(kinds) > 1:
		return fail(41065, "invalid attachments msgtype")
	case kinds["image"] > wecom.MaxMomentImages, kinds["video"] > 1, kinds["link"] > 1:
		return fail(41064, "attachments count exceed limit")
	}
	return nil
}

func (s *Sim) apiGetMomentTaskResult(r *http.Request, _ []byte) (map[string]any, *apiError) {
	job, ok := s.posting().jobs[r.URL.Query().Get("jobid")]
	if !ok {
		return nil, fail(wecom.CodeInvalidParameter, "invalid jobid")
	}
	if s.now().Before(job.created.Add(s.posting().jobDelay)) {
		return map[string]any{"status": wecom.MomentTaskRunning, "type": "add_moment_task"}, nil
	}
	return map[string]any{"status": wecom.MomentTaskFinished, "type": "add_moment_task", "result": job.outcome}, nil
}

func (s *Sim) apiCancelMomentTask(_ *http.Request, body []byte) (map[string]any, *apiError) {
	var req struct {
		MomentID string `json:"moment_id"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fail(wecom.CodeInvalidParameter, "invalid json: %v", err)
	}
	for _, m := range s.posting().moments {
		if m.MomentID == req.MomentID {
			m.Canceled = true
			return map[string]any{}, nil
		}
	}
	return nil, fail(41060, "invalid moment id")
}

func (s *Sim) apiGetMomentList(_ *http.Request, body []byte) (map[string]any, *apiError) {
	var req wecom.MomentListRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fail(wecom.CodeInvalidParameter, "invalid json: %v", err)
	}
	switch {
	case req.EndTime < req.StartTime || req.EndTime-req.StartTime > 30*86400:
		return nil, fail(wecom.CodeInvalidParameter, "invalid time range, at most 30 days")
	case req.Limit < 0 || req.Limit > wecom.MaxMomentListLimit:
		return nil, fail(wecom.CodeInvalidParameter, "limit must be 1..%d", wecom.MaxMomentListLimit)
	case req.Limit == 0:
		req.Limit = wecom.MaxMomentListLimit
	}
	var rows []wecom.Moment
	if req.FilterType != wecom.MomentFilterPersonal {
		for _, m := range s.posting().moments {
			if t := m.CreateTime.Unix(); t < req.StartTime || t > req.EndTime {
				continue
			}
			row := wecom.Moment{MomentID: m.MomentID, CreateTime: m.CreateTime.Unix(), CreateType: 0, VisibleType: 1, Text: wecom.Text{Content: m.Text}}
			if len(m.Tags) > 0 {
				row.VisibleType = 0
			}
			for _, a := range m.Attachments {
				switch a.MsgType {
				case "image":
					row.Image = append(row.Image, *a.Image)
				case "video":
					row.Video = a.Video
				case "link":
					row.Link = &wecom.MomentLinkInfo{Title: a.Link.Title, URL: a.Link.URL}
				}
			}
			rows = append(rows, row)
		}
	}
	return listPage(rows, req.Cursor, req.Limit, "moment_list")
}
